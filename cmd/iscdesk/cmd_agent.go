package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/agent/updates"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
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

// newAgent wires the agent and its default hooks from the configuration.
func newAgent(ctx context.Context, io *stdio, socket, openName string) (*agent.Server, error) {
	ac, err := newAgentConfig(ctx, io, socket)
	if err != nil {
		return nil, err
	}
	if openName != "" {
		storage := ac.Storage
		ac.Pick = func(ctx context.Context) (clouddrive.File, error) { return storage.Open(ctx, openName) }
	}
	return agent.New(ac), nil
}

// newAgentConfig builds the agent's configuration with the default hooks;
// the desktop app adds its own Pick (the window's file list) and Activity.
func newAgentConfig(ctx context.Context, io *stdio, socket string) (agent.Config, error) {
	cfg, err := io.loadConfig()
	if err != nil {
		return agent.Config{}, err
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		// Serve the endpoint that issued the authorization, like status.
		if st, err := io.openStore(ctx); err == nil {
			if r, err := st.Load(ctx); err == nil {
				endpoint = r.Endpoint
			}
		}
	}
	manager, client, err := io.newManagerClient(ctx, cfg, endpoint, true)
	if err != nil {
		return agent.Config{}, err
	}
	log := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	manager.Logger = log

	cloud := cfg.CloudDir
	if cloud == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return agent.Config{}, err
		}
		cloud = filepath.Join(home, "iscdesk-cloud")
	}
	storage, err := clouddrive.NewLocalFolder(cloud)
	if err != nil {
		return agent.Config{}, err
	}
	ac := agent.Config{
		SocketPath: socket,
		Storage:    storage,
		Licenses:   agent.ManagedLicenses{Manager: manager, Issuer: client},
		LicenseDir: filepath.Join(io.dataDir(), "licenses"),
		Logger:     log,
	}
	if len(cfg.SolverCommand) > 0 {
		ac.Solver = solver.NewCommand(cfg.SolverCommand, cfg.SolverTimeoutDuration(), filepath.Join(io.dataDir(), "solutions"))
	}
	if manifest := manifestURL(cfg.UpdateManifest, endpoint); manifest != "" {
		ac.Updates = &updates.ManifestChecker{URL: manifest, Downloads: filepath.Join(io.dataDir(), "updates")}
	}
	return ac, nil
}

// manifestURL is the configured update manifest, else the sandbox's own when
// the endpoint is a loopback sandbox.
func manifestURL(configured, endpoint string) string {
	if configured != "" {
		return configured
	}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "http" {
		return endpoint + marketplace.PathUpdateManifest
	}
	return ""
}
