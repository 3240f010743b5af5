//go:build cgo

// Command iscdesk-desktop is iscdesk's desktop window: the license, device,
// activity and settings screens, with the agent for connected programs
// served inside it while it runs (also while it is hidden in the tray). One
// runs per user: a second start brings the first forward.
//
// `iscdesk` without arguments starts it; the commands for scripts, services
// and installers are iscdesk's (see docs/cli.md). It links the GUI toolkit
// through cgo, which iscdesk does not. Its wiring is internal/wiring's, as
// iscdesk's is.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/assets"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/internal/wiring"
	"github.com/iscdesk/iscdesk/ui"
)

// appID is FyneApp.toml's ID: fyne keys the app's preferences by it.
const appID = "io.github.iscdesk.desktop"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &wiring.Env{Getenv: os.Getenv}, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run checks the command line, then runs the window; an error is one
// "iscdesk:" line on stderr and exit code 1 (2 for arguments).
func run(ctx context.Context, args []string, env *wiring.Env, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprintln(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "iscdesk: iscdesk-desktop takes no arguments: the commands are iscdesk's (see 'iscdesk --help')\n")
		return 2
	}
	if err := runWindow(ctx, env, stderr); err != nil {
		fmt.Fprintf(stderr, "iscdesk: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	return 0
}

const usage = `Usage: iscdesk-desktop

Opens iscdesk's desktop window and serves connected programs while it runs.
A second start brings the running window forward. The commands for scripts,
services and installers are iscdesk's: see 'iscdesk --help'.`

// runWindow opens the desktop window and serves the SDK's agent while it
// runs (also while the window is hidden in the tray). A second start asks
// the running one to show its window and returns at once.
func runWindow(ctx context.Context, env *wiring.Env, stderr io.Writer) (err error) {
	if err := checkDisplay(); err != nil {
		return err
	}
	defer func() {
		// GLFW panics when the display cannot be opened (a stale DISPLAY,
		// no X authorization): report it as an error, not a stack trace.
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot open the desktop window: %v", r)
		}
	}()
	inst, err := claimInstance(guiSocketPath())
	if errors.Is(err, errOtherInstance) {
		return nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "iscdesk: no single-instance channel (%v); a second start opens a second window\n", err)
	}

	// The window idles most of its life, its heap mostly fonts that live as
	// long as it: a tighter GC target keeps the resident memory down for
	// little CPU (GOGC in the environment still wins).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}

	// The window's process logs on standard error (the embedded agent and
	// the license service). A broken config file still opens the window:
	// Settings and the license screen then say what is wrong.
	env.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, _ := env.LoadConfig()
	a := app.NewWithID(appID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.SmallIcon))
	if err := ui.ApplyLanguage(cfg.Language); err != nil {
		fmt.Fprintf(stderr, "iscdesk: %v\n", err)
	}
	w := a.NewWindow("ISCDesk")
	w.Resize(fyne.NewSize(920, 700))
	w.SetMaster()

	activity := agent.NewActivity(0)
	cloud := &guiCloud{}
	u := ui.New(a, w, ui.Deps{
		Licenses: env.Licenses(), Device: wiring.Device{}, Settings: wiring.UserSettings{Env: env},
		Activity: activity, CloudFiles: cloud, Version: version.Version, HasTray: hasSystemTray(),
	})
	a.Lifecycle().SetOnStarted(u.Start)

	runCtx, stop := context.WithCancel(ctx)
	var workers sync.WaitGroup
	workers.Add(1)
	go func() {
		defer workers.Done()
		serveAgent(runCtx, env, stderr, activity, cloud, u)
	}()
	if inst != nil {
		workers.Add(1)
		go func() {
			defer workers.Done()
			inst.serve(runCtx, func(cmd string) error { return instanceCommand(a, u, cmd) })
		}()
	}
	ended := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done(): // interrupt or SIGTERM: quit like the tray's Quit
			fyne.Do(a.Quit)
		case <-ended:
		}
	}()

	w.ShowAndRun()
	close(ended)
	u.Close()
	stop()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(stderr, "iscdesk: programs' calls still running after 10 s; quitting anyway")
	}
	return nil
}

// serveAgent runs the agent inside the window's process. The window opens
// first: building the agent reads the keyring and the config files.
func serveAgent(ctx context.Context, env *wiring.Env, stderr io.Writer, activity *agent.Activity, cloud *guiCloud, u *ui.UI) {
	ac, err := env.AgentConfig(ctx, "")
	if err != nil {
		fmt.Fprintf(stderr, "iscdesk: the agent for connected programs did not start: %v\n", err)
		return
	}
	ac.Activity = activity
	ac.Pick = u.PickCloudFile
	ac.SaveAs = u.ChooseSaveAs
	cloud.set(ac.Storage)
	srv := agent.New(ac)
	ln, err := srv.Listen()
	if errors.Is(err, agent.ErrAlreadyRunning) {
		fmt.Fprintf(stderr, "iscdesk: %v: programs are served by that one\n", err)
		return
	}
	if err != nil {
		fmt.Fprintf(stderr, "iscdesk: the agent for connected programs did not start: %v\n", err)
		return
	}
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "iscdesk: agent: %v\n", err)
	}
}

// instanceCommand runs a command of a second start (or a script) on the
// window.
func instanceCommand(a fyne.App, u *ui.UI, cmd string) error {
	name, arg, _ := strings.Cut(cmd, " ")
	switch name {
	case "show":
		fyne.Do(u.Show)
	case "screen":
		known := false
		fyne.DoAndWait(func() { known = u.ShowScreen(arg) })
		if !known {
			return fmt.Errorf("unknown screen %q (want one of %s)", arg, strings.Join(ui.Screens, ", "))
		}
	case "quit":
		fyne.Do(a.Quit)
	default:
		return fmt.Errorf("unknown command %q", name)
	}
	return nil
}
