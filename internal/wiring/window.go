package wiring

import (
	"context"
	"errors"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/licensing/aksk"
)

// What the window's screens drive besides the license service: each type
// here fits one of package ui's small interfaces (ui.Settings,
// ui.Credentials, ui.Device) without this package importing ui.

// UserSettings reads the merged settings and writes the user's file only.
type UserSettings struct{ Env *Env }

// Load returns the merged settings; Locked names what the user may not
// change here (the administrator's settings, and the endpoint when the
// environment sets it).
func (s UserSettings) Load() (config.Config, error) {
	c, err := s.Env.LoadConfig()
	if err != nil {
		return c, err
	}
	if s.Env.Getenv("ISCDESK_ENDPOINT") != "" {
		// The environment wins over the file: editing it here would not
		// take effect.
		c.Locked["endpoint"] = true
	}
	return c, nil
}

// Save copies the settings the user may change into the user's file, so that
// the administrator's and the environment's values never land there. The
// license service reads them on its next call.
func (s UserSettings) Save(c config.Config) error {
	path := s.Env.ConfigPaths().User
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

// KeyringCredentials stores the marketplace AK/SK in the OS keyring.
type KeyringCredentials struct{ Env *Env }

// Set stores both keys as one entry.
func (c KeyringCredentials) Set(ctx context.Context, ak, sk string) error {
	return c.Env.StoreCredentials(ctx, aksk.Credentials{AK: ak, SK: sk})
}

// Has reports whether credentials are set (in the environment or stored).
func (c KeyringCredentials) Has(ctx context.Context) bool {
	cred, err := c.Env.Credentials(ctx)
	return err == nil && cred.AK != ""
}

// Device reads this machine's fingerprint.
type Device struct{}

// Fingerprint collects it, within 5 seconds.
func (Device) Fingerprint(ctx context.Context) devinfo.Fingerprint { return Fingerprint(ctx) }
