package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/wiring"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// stdio is what a command may touch of its process, so tests run commands
// in-process with their own streams and environment.
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string

	// Set by tests; nil means the real thing.
	paths       *config.Paths                                 // config file locations
	secrets     secret.Store                                  // the OS keyring
	machineID   func() (string, error)                        // the protected machine id
	fingerprint func(ctx context.Context) devinfo.Fingerprint // this machine's fingerprint
	host        func() string                                 // this machine's host name

	env *wiring.Env // see wire
}

// command is one subcommand. run receives the positional arguments left after
// the flags that setup declared.
type command struct {
	name    string
	args    string // the usage line after the name, e.g. "[--json] CODE"
	summary string
	// setup declares the flags on fs and returns the function that runs the
	// command.
	setup func(fs *flag.FlagSet, io *stdio) func(ctx context.Context, args []string) error
}

func run(ctx context.Context, args []string, io *stdio) int {
	if len(args) == 0 {
		return report(io, openWindow())
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		printUsage(io.out)
		return exitcode.OK
	}
	i := slices.IndexFunc(commands(), func(c *command) bool { return c.name == args[0] })
	if i < 0 {
		return report(io, usageErrorf("unknown command %q: see 'iscdesk --help'", args[0]))
	}
	return report(io, commands()[i].execute(ctx, args[1:], io))
}

func (c *command) execute(ctx context.Context, args []string, io *stdio) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	runFn := c.setup(fs, io)
	fs.SetOutput(discard{})
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(io.out, fs)
		return nil
	}
	if err != nil {
		return usageErrorf("%s: %v (see 'iscdesk %s --help')", c.name, err, c.name)
	}
	return runFn(ctx, pos)
}

// parseInterspersed lets flags follow positional arguments
// ("activate CODE --json"), as users expect; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: iscdesk %s %s\n\n%s\n", c.name, c.args, c.summary)
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nFlags:")
			first = false
		}
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s\n", f.Name, name, usage)
	})
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: iscdesk <command> [flags] [arguments]")
	fmt.Fprintln(w, "       iscdesk              (no command: open the desktop window, iscdesk-desktop)")
	fmt.Fprintln(w, "\nThe desktop license client for industrial software.\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, firstLine(c.summary))
	}
	fmt.Fprintln(w, "\nRun 'iscdesk <command> --help' for the flags of a command.")
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 internal error, 2 usage error, 3 license not usable,")
	fmt.Fprintln(w, "4 license server unreachable, 5 credentials rejected, 6 secure storage failed,")
	fmt.Fprintln(w, "7 refused (a check failed, nothing by that name, not allowed), 8 a step failed or")
	fmt.Fprintln(w, "another process holds what is needed, 130 interrupted.")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// report prints err as one "iscdesk:" line on standard error, any URL in it
// redacted (no credentials, query or fragment: netutil.RedactText), and
// returns the exit code for it.
func report(io *stdio, err error) int {
	if err == nil {
		return exitcode.OK
	}
	msg := netutil.RedactText(strings.Join(strings.Fields(err.Error()), " "))
	fmt.Fprintf(io.err, "iscdesk: %s\n", msg)
	return exitCode(err)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
