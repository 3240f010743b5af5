package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
)

func agentCommand() *command {
	return &command{
		name: "agent",
		args: "[--socket PATH] [--open NAME]",
		summary: "Serve the SDK without a window (headless machines, services) until interrupted.\n\n" +
			"Programs linking the iscdesk SDK connect over a socket private to this user, ask\n" +
			"for device licenses, save files and assemblies to the cloud drive (cloud_dir),\n" +
			"solve models (solver_command) and check for upgrades (update_manifest).\n" +
			"One agent runs per user: a second start reports the first and exits.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			socket := fs.String("socket", "", "listen on `PATH` (default: $ISCDESK_AGENT_SOCKET, else the per-user socket)")
			open := fs.String("open", "", "answer OpenCloudFile with the cloud drive entry `NAME` (headless)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("agent: takes no arguments")
				}
				srv, err := newAgent(ctx, io, *socket, *open)
				if err != nil {
					return err
				}
				ln, err := srv.Listen()
				if errors.Is(err, agent.ErrAlreadyRunning) {
					return usageErrorf("%v", err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(io.out, "agent listening on %s\n", srv.SocketPath())
				return srv.Serve(ctx, ln)
			}
		},
	}
}

// newAgent wires the agent and its default hooks from the configuration; it
// and the license service log on standard error.
func newAgent(ctx context.Context, io *stdio, socket, openName string) (*agent.Server, error) {
	io.wire().Logger = slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ac, err := io.wire().AgentConfig(ctx, socket)
	if err != nil {
		return nil, err
	}
	if openName != "" {
		storage := ac.Storage
		ac.Pick = func(ctx context.Context) (clouddrive.File, error) { return storage.Open(ctx, openName) }
	}
	return agent.New(ac), nil
}
