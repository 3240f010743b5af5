package wiring

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/agent/updates"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// AgentConfig builds the agent's configuration with the default hooks,
// serving device licenses through the process's license service. The
// window adds its own Pick (its file list) and Activity; `iscdesk agent
// --open` its own Pick.
//
// It fails as the first call would: on a broken configuration or stored
// credentials.
func (e *Env) AgentConfig(ctx context.Context, socket string) (agent.Config, error) {
	cfg, err := e.LoadConfig()
	if err != nil {
		return agent.Config{}, err
	}
	licenses := e.Licenses()
	// Serve the endpoint that issued the authorization, like status.
	endpoint, err := licenses.Endpoint(ctx)
	if err != nil {
		return agent.Config{}, err
	}
	if _, err := e.Marketplace(ctx, endpoint); err != nil {
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
		Licenses:   agent.ManagedLicenses{Service: licenses, Issuer: issuer{e}, Fingerprint: Fingerprint},
		LicenseDir: filepath.Join(e.DataDir(), "licenses"),
		Logger:     e.logger(),
	}
	if len(cfg.SolverCommand) > 0 {
		ac.Solver = solver.NewCommand(cfg.SolverCommand, cfg.SolverTimeoutDuration(), filepath.Join(e.DataDir(), "solutions"))
	}
	if manifest := manifestURL(cfg.UpdateManifest, endpoint); manifest != "" {
		// The manifest must be signed by the key the administrator pinned
		// (server_key, or ISCDESK_SERVER_KEY); without one the checker
		// refuses every manifest, saying so. Nothing is pinned implicitly,
		// not even the sandbox's key when the sandbox is the endpoint.
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

// issuer asks the marketplace the license service would ask now (the
// settings may have changed since the agent started) for device licenses.
type issuer struct{ e *Env }

func (i issuer) IssueDeviceLicense(ctx context.Context, req marketplace.DeviceLicenseRequest) (string, error) {
	endpoint, err := i.e.Licenses().Endpoint(ctx)
	if err != nil {
		return "", err
	}
	c, err := i.e.Marketplace(ctx, endpoint)
	if err != nil {
		return "", err
	}
	return c.IssueDeviceLicense(ctx, req)
}

// manifestURL is the configured update manifest, else the sandbox's own when
// the endpoint is a loopback sandbox.
func manifestURL(configured, endpoint string) string {
	if configured != "" {
		return configured
	}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "http" {
		return endpoint + wire.PathUpdateManifest
	}
	return ""
}
