//go:build !darwin || cgo

package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/ui"
)

// The adapters between the desktop window (package ui) and the flows the
// CLI runs: each call reads the settings afresh, as a new CLI command would,
// so a change in Settings applies to the next check without a restart.

var (
	_ ui.Licenses    = guiLicenses{}
	_ ui.Device      = guiDevice{}
	_ ui.Settings    = guiSettings{}
	_ ui.Credentials = guiCredentials{}
	_ ui.CloudFiles  = (*guiCloud)(nil)
)

type guiLicenses struct{ io *stdio }

func (l guiLicenses) Activate(ctx context.Context, code string) (licensing.State, error) {
	code, err := licensing.NormalizeCode(code)
	if err != nil {
		return licensing.State{}, err
	}
	return activate(ctx, l.io, "", code)
}

func (l guiLicenses) Status(ctx context.Context, online bool) (licensing.State, error) {
	return status(ctx, l.io, online)
}

func (l guiLicenses) Forget(ctx context.Context) error {
	st, err := l.io.openStore(ctx)
	if err != nil {
		return err
	}
	return st.Delete(ctx)
}

type guiDevice struct{}

func (guiDevice) Fingerprint(ctx context.Context) devinfo.Fingerprint {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return fingerprint.Collector{}.Collect(ctx)
}

// guiSettings reads the merged settings and writes the user's file only.
type guiSettings struct{ io *stdio }

func (s guiSettings) Load() (config.Config, error) {
	c, err := s.io.loadConfig()
	if err != nil {
		return c, err
	}
	if s.io.getenv("ISCDESK_ENDPOINT") != "" {
		// The environment wins over the file: editing it here would not
		// take effect.
		c.Locked["endpoint"] = true
	}
	return c, nil
}

// Save copies the settings the user may change into the user's file, so that
// the administrator's and the environment's values never land there.
func (s guiSettings) Save(c config.Config) error {
	path := s.io.configPaths().User
	if path == "" {
		return errors.New("this system has no configuration folder for the user")
	}
	cur, err := s.Load()
	if err != nil {
		return err
	}
	u, err := config.LoadUser(path)
	if err != nil {
		return err
	}
	for key, apply := range map[string]func(){
		"endpoint":       func() { u.Endpoint = c.Endpoint },
		"proxy":          func() { u.Proxy = c.Proxy },
		"grace_days":     func() { u.GraceDays = c.GraceDays },
		"cloud_dir":      func() { u.CloudDir = c.CloudDir },
		"solver_command": func() { u.SolverCommand = c.SolverCommand },
		"language":       func() { u.Language = c.Language },
	} {
		if !cur.Locked[key] {
			apply()
		}
	}
	if err := u.Validate(); err != nil {
		return err
	}
	return config.SaveUser(path, u)
}

type guiCredentials struct{ io *stdio }

func (c guiCredentials) Set(ctx context.Context, ak, sk string) error {
	return storeCredentials(ctx, c.io, aksk.Credentials{AK: ak, SK: sk})
}

func (c guiCredentials) Has(ctx context.Context) bool {
	cred, err := c.io.credentials(ctx)
	return err == nil && cred.AK != ""
}

// guiCloud lists the agent's cloud drive once the agent is built (in the
// background, after the window shows).
type guiCloud struct {
	mu      sync.Mutex
	storage agent.Storage
}

func (c *guiCloud) set(s agent.Storage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storage = s
}

func (c *guiCloud) List(ctx context.Context) ([]clouddrive.File, error) {
	c.mu.Lock()
	s := c.storage
	c.mu.Unlock()
	if s == nil {
		return nil, errors.New("the cloud drive is not available: see the agent's error on standard error")
	}
	return s.List(ctx)
}
