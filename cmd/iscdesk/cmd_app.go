package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/iscdesk/iscdesk/apps"
	"github.com/iscdesk/iscdesk/internal/errs"
)

func appCommand() *command {
	return &command{
		name: "app",
		args: "install PATH|URL [--dir DIR] [--sha256 HEX] | uninstall NAME | list [--json]",
		summary: "Install, uninstall and list vendor software packages, silently.\n\n" +
			"'install' takes a package (software.tar.gz, .tar or .zip) from a path or an https\n" +
			"URL (an interrupted download resumes), unpacks it, refusing entries that leave\n" +
			"its folder, and runs its install script with the target folder. Running it again\n" +
			"after an interruption completes the install. 'uninstall' runs the package's\n" +
			"uninstall script; if the script fails, the package stays listed so that the\n" +
			"uninstall can be retried, and the exit code is non-zero. Script output goes to\n" +
			"a log file in the user's iscdesk folder.\n\n" +
			"Exit codes: 2 bad argument, 4 download failed, 7 package refused (SHA-256\n" +
			"mismatch, unsafe or damaged archive, not a package) or not installed, 8 the\n" +
			"vendor's script failed, 130 interrupted.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			dir := fs.String("dir", "", "install: install into `DIR` (default: iscdesk-apps/NAME in the home folder, %LOCALAPPDATA%\\iscdesk\\apps\\NAME on Windows)")
			sum := fs.String("sha256", "", "install: refuse the package unless its SHA-256 is `HEX`")
			asJSON := fs.Bool("json", false, "list: print a JSON array of objects (name, version, dir, …)")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("app: want 'install PATH|URL', 'uninstall NAME' or 'list' (see 'iscdesk app --help')")
				}
				set := map[string]bool{}
				fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
				only := func(sub string, allowed ...string) error {
					for name := range set {
						if !slices.Contains(allowed, name) {
							return usageErrorf("app %s: --%s does not apply (see 'iscdesk app --help')", sub, name)
						}
					}
					return nil
				}
				sub, rest := args[0], args[1:]
				switch sub {
				case "install":
					if err := only(sub, "dir", "sha256"); err != nil {
						return err
					}
					if len(rest) != 1 {
						return usageErrorf("app install: want one PATH or URL")
					}
					return appInstall(ctx, io, rest[0], *dir, *sum)
				case "uninstall":
					if err := only(sub); err != nil {
						return err
					}
					if len(rest) != 1 {
						return usageErrorf("app uninstall: want one NAME (see 'iscdesk app list')")
					}
					return appUninstall(ctx, io, rest[0])
				case "list":
					if err := only(sub, "json"); err != nil {
						return err
					}
					if len(rest) != 0 {
						return usageErrorf("app list: takes no arguments")
					}
					return appList(io, *asJSON)
				default:
					return usageErrorf("app: unknown action %q: want install, uninstall or list", sub)
				}
			}
		},
	}
}

func appInstall(ctx context.Context, io *stdio, source, dir, sum string) error {
	m, err := io.appManager()
	if err != nil {
		return err
	}
	cfg, err := io.loadConfig()
	if err != nil {
		return err
	}
	m.Proxy = cfg.Proxy
	p := newProgressLine(io.err)
	rec, err := m.Install(ctx, source, apps.InstallOptions{Dir: dir, SHA256: sum, Progress: p.show})
	p.end()
	if err != nil {
		return err // "app install: …", its kind gives the exit code
	}
	version := ""
	if rec.Version != "" {
		version = " " + rec.Version
	}
	_, err = fmt.Fprintf(io.out, "Installed %s%s in %s.\n", rec.Name, version, rec.Dir)
	return err
}

func appUninstall(ctx context.Context, io *stdio, name string) error {
	m, err := io.appManager()
	if err != nil {
		return err
	}
	cfg, err := io.loadConfig()
	if err != nil {
		return err
	}
	m.Proxy = cfg.Proxy // for the uninstall script, which may download too
	p := newProgressLine(io.err)
	err = m.Uninstall(ctx, name, p.show)
	p.end()
	var se *apps.ScriptError
	switch {
	case errors.Is(err, apps.ErrNotInstalled):
		return errs.E("app uninstall", errs.NotExist, fmt.Errorf("%s is not installed (see 'iscdesk app list')", name))
	case errors.As(err, &se):
		return fmt.Errorf("%w; %s stays listed: run 'iscdesk app uninstall %s' again to retry", err, name, name)
	case err != nil:
		return err
	}
	_, err = fmt.Fprintf(io.out, "Uninstalled %s.\n", name)
	return err
}

// appJSON is one object of `app list --json` (docs/cli.md): name, version
// and dir are the contract; the rest is informative.
type appJSON struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Dir         string `json:"dir"`
	InstalledAt string `json:"installed_at"`
	State       string `json:"state"`
	Source      string `json:"source"`
	SHA256      string `json:"sha256,omitempty"`
	Error       string `json:"error,omitempty"`
	Log         string `json:"log,omitempty"`
}

func appList(io *stdio, asJSON bool) error {
	m, err := io.appManager()
	if err != nil {
		return err
	}
	list, err := m.List()
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]appJSON, 0, len(list))
		for _, a := range list {
			out = append(out, appJSON{
				Name: a.Name, Version: a.Version, Dir: a.Dir, InstalledAt: formatTime(a.InstalledAt),
				State: string(a.State), Source: a.Source, SHA256: a.SHA256, Error: a.Error, Log: a.Log,
			})
		}
		return printJSON(io.out, out)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(io.out, "No vendor packages are installed.")
		return err
	}
	tw := tabwriter.NewWriter(io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tINSTALLED\tFOLDER\tSTATE")
	for _, a := range list {
		version := a.Version
		if version == "" {
			version = "-"
		}
		state := "installed"
		if a.State == apps.StateUninstallFailed {
			state = "uninstall failed: retry 'iscdesk app uninstall " + a.Name + "'"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, version, a.InstalledAt.Local().Format("2006-01-02 15:04"), a.Dir, state)
	}
	return tw.Flush()
}

// appManager is the vendor-package manager of this user: records beside
// the user's config file, packages in the default apps folder.
func (io *stdio) appManager() (*apps.Manager, error) {
	paths := io.configPaths()
	if paths.User == "" {
		return nil, errors.New("app: the user's configuration folder is unknown (is HOME set?)")
	}
	appsDir, err := apps.DefaultAppsDir()
	if err != nil {
		return nil, fmt.Errorf("app: no default folder for packages: %w", err)
	}
	m := &apps.Manager{Root: filepath.Dir(paths.User), AppsDir: appsDir}
	// Partial downloads belong in the user's cache folder; with test
	// paths they stay beside the records (Root/downloads).
	if io.paths == nil {
		if dir, err := apps.DefaultCacheDir(); err == nil {
			m.CacheDir = dir
		}
	}
	return m, nil
}

// progressLine shows progress as one line rewritten in place, on a terminal
// only: in a log or a pipe it would be noise.
type progressLine struct {
	w    io.Writer // nil: not a terminal
	last string
}

func newProgressLine(w io.Writer) *progressLine {
	if isTerminal(w) {
		return &progressLine{w: w}
	}
	return &progressLine{}
}

func (p *progressLine) show(pr apps.Progress) {
	if p.w == nil {
		return
	}
	var s string
	switch pr.Phase {
	case apps.PhaseDownload:
		s = "Downloading"
	case apps.PhaseVerify:
		s = "Checking the SHA-256"
	case apps.PhaseUnpack:
		s = "Unpacking"
	case apps.PhaseInstall:
		s = "Running the install script…"
	case apps.PhaseUninstall:
		s = "Running the uninstall script…"
	default:
		s = string(pr.Phase)
	}
	if pct := pr.Percent(); pct >= 0 {
		s += fmt.Sprintf(" %3d%% (%s of %s)", pct, megabytes(pr.Done), megabytes(pr.Total))
	} else if pr.Done > 0 {
		s += " " + megabytes(pr.Done)
	}
	if s == p.last {
		return
	}
	// Carriage return and padding rather than terminal escapes, which not
	// every Windows console understands.
	pad := max(0, len(p.last)-len(s))
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
	p.last = s
}

func (p *progressLine) end() {
	if p.w != nil && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
