// Command iscdesk is the desktop license client for industrial software. Its
// subcommands serve scripts, administrators and headless machines; see
// docs/cli.md for the contract they keep.
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
		forgetCommand(),
		credentialsCommand(),
		fingerprintCommand(),
		sandboxCommand(),
		agentCommand(),
		appCommand(),
		versionCommand(),
	}
}
