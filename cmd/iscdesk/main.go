// Command iscdesk is the desktop license client for industrial software. Its
// subcommands serve scripts, administrators, services and headless
// machines; see docs/cli.md for the contract they keep. Without arguments
// it starts the desktop window, the iscdesk-desktop binary.
//
// It is pure Go (built with CGO_ENABLED=0 it is a static binary) and links
// no GUI toolkit, so it starts on a server or in a container without X or
// GL libraries. Its wiring is internal/wiring's; this package holds the
// command line: one file per subcommand, the exit codes, the output.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// commands lists the subcommands, in the order --help shows them.
func commands() []*command {
	return []*command{
		activateCommand(),
		statusCommand(),
		deactivateCommand(),
		forgetCommand(),
		leaseCommand(),
		fingerprintCommand(),
		sandboxCommand(),
		agentCommand(),
		appCommand(),
		versionCommand(),
	}
}
