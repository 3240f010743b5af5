// Command iscdesk-server is the vendor's license server: it keeps the
// marketplace AK/SK, binds the seats of license codes to devices and signs
// their activation tokens (docs/server.md; its HTTP API is
// docs/server-api.md). Pure Go, no cgo: it cross-compiles for linux and
// windows, amd64 and arm64.
//
// This package is the command line only: one file per subcommand, the exit
// codes, the output. The server lives in package server and its adapters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/iscdesk/iscdesk/internal/exitcode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &stdio{out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// stdio is what a command may touch of its process.
type stdio struct {
	out, err io.Writer
	getenv   func(string) string
}

// command is a subcommand, or a group of them (codes, activations, keys).
type command struct {
	name    string
	args    string
	summary string
	sub     []*command
	setup   func(fs *flag.FlagSet, io *stdio) func(ctx context.Context, args []string) error
}

func commands() []*command {
	return []*command{
		initCommand(),
		serveCommand(),
		migrateCommand(),
		codesCommand(),
		activationsCommand(),
		keysCommand(),
		versionCommand(),
	}
}

func run(ctx context.Context, args []string, io *stdio) int {
	return report(io, dispatch(ctx, "iscdesk-server", commands(), args, io))
}

func dispatch(ctx context.Context, path string, cmds []*command, args []string, io *stdio) error {
	if len(args) == 0 || isHelp(args[0]) {
		printUsage(io.out, path, cmds)
		if len(args) == 0 {
			return usageErrorf("a command is needed (see '%s --help')", path)
		}
		return nil
	}
	i := slices.IndexFunc(cmds, func(c *command) bool { return c.name == args[0] })
	if i < 0 {
		return usageErrorf("unknown command %q: see '%s --help'", args[0], path)
	}
	c := cmds[i]
	if c.sub != nil {
		return dispatch(ctx, path+" "+c.name, c.sub, args[1:], io)
	}
	return c.execute(ctx, path, args[1:], io)
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

func (c *command) execute(ctx context.Context, path string, args []string, io *stdio) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	runFn := c.setup(fs, io)
	fs.SetOutput(io2discard{})
	pos, err := interspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(io.out, "Usage: %s %s %s\n\n%s\n", path, c.name, c.args, c.summary)
		fmt.Fprintln(io.out, "\nFlags:")
		fs.SetOutput(io.out)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return usageErrorf("%s %s: %v (see '%s %s --help')", path, c.name, err, path, c.name)
	}
	return runFn(ctx, pos)
}

// interspersed parses flags that may follow the arguments ("show ID --json").
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printUsage(w io.Writer, path string, cmds []*command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags] [arguments]\n\n", path)
	if path == "iscdesk-server" {
		fmt.Fprintln(w, "The vendor's license server: marketplace keys, seats, signed activation tokens.")
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Commands:")
	for _, c := range cmds {
		line, _, _ := strings.Cut(c.summary, "\n")
		fmt.Fprintf(w, "  %-12s %s\n", c.name, line)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for its flags.\n", path)
	if path == "iscdesk-server" {
		fmt.Fprintln(w, "\nExit codes: 0 success, 1 internal error, 2 usage error, 3 no such license, activation")
		fmt.Fprintln(w, "or code, or it is not usable, 4 the marketplace or the database could not be reached,")
		fmt.Fprintln(w, "5 the marketplace refused the AK/SK (or none are configured), 130 interrupted.")
	}
}

// report prints err as one "iscdesk-server:" line on standard error and
// returns its exit code.
func report(io *stdio, err error) int {
	if err == nil {
		return exitcode.OK
	}
	fmt.Fprintf(io.err, "iscdesk-server: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	return exitCode(err)
}

type io2discard struct{}

func (io2discard) Write(p []byte) (int, error) { return len(p), nil }
