package wiring

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/agent/updates"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
)

// AgentConfig builds the agent's configuration with the default hooks,
// serving device licenses through the process's license service. The
// window adds its own Pick (its file list), SaveAs (its save-as dialog) and
// Activity; `iscdesk agent --open` its own Pick.
//
// It fails as the first call would: on a broken configuration.
func (e *Env) AgentConfig(ctx context.Context, socket string) (agent.Config, error) {
	cfg, err := e.LoadConfig()
	if err != nil {
		return agent.Config{}, err
	}
	licenses := e.Licenses()
	// The server status would ask: the configured one, else the one that
	// issued the cached activation.
	server, err := licenses.ServerURL(ctx)
	if err != nil {
		return agent.Config{}, err
	}
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
		Licenses:   agent.ManagedLicenses{Service: licenses, Fingerprint: licenses.Fingerprint},
		LicenseDir: filepath.Join(e.DataDir(), "licenses"),
		Logger:     e.logger(),
		// Without a window nobody can choose: the program's suggestion.
		SaveAs: agent.KeepSuggestion,
	}
	if len(cfg.SolverCommand) > 0 {
		ac.Solver = solver.NewCommand(cfg.SolverCommand, cfg.SolverTimeoutDuration(), filepath.Join(e.DataDir(), "solutions"))
	}
	if manifest := manifestURL(cfg.UpdateManifest, server); manifest != "" {
		// The manifest must be signed by the key the administrator pinned
		// (server_key, or ISCDESK_SERVER_KEY); without one the checker
		// refuses every manifest, saying so. Nothing is pinned implicitly.
		var key ed25519.PublicKey
		if cfg.ServerKey != "" {
			if key, err = token.ParsePublicKey(cfg.ServerKey); err != nil {
				return agent.Config{}, errs.E("config", errs.Invalid, fmt.Errorf("server_key: %w", err))
			}
		}
		ac.Updates = &updates.ManifestChecker{URL: manifest, Downloads: filepath.Join(e.DataDir(), "updates"), ServerKey: key, Proxy: cfg.Proxy}
	}
	return ac, nil
}

// ServerManifestPath is where the vendor license server publishes the signed
// update manifest of each app ({app} stands for its name).
const ServerManifestPath = "/v1/apps/{app}/manifest"

// manifestURL is the configured update manifest, else the license server's.
func manifestURL(configured, server string) string {
	if configured != "" || server == "" {
		return configured
	}
	return strings.TrimRight(server, "/") + ServerManifestPath
}
