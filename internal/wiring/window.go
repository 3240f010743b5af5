package wiring

import (
	"context"
	"errors"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
)

// What the window's screens drive besides the license service: each type
// here fits one of package ui's small interfaces (ui.Settings, ui.Device)
// without this package importing ui.

// UserSettings reads the merged settings and writes the user's file only.
type UserSettings struct{ Env *Env }

// Load returns the merged settings; Locked names what the user may not
// change here (the administrator's settings, and the server or its key
// when the environment sets them).
func (s UserSettings) Load() (config.Config, error) {
	c, err := s.Env.LoadConfig()
	if err != nil {
		return c, err
	}
	// The environment wins over the file: editing these here would not
	// take effect.
	if s.Env.Getenv("ISCDESK_SERVER") != "" {
		c.Locked["server"] = true
	}
	if s.Env.Getenv("ISCDESK_SERVER_KEY") != "" {
		c.Locked["server_key"] = true
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
		"server":         func() { u.Server = c.Server },
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

// Device reads this machine's fingerprint.
type Device struct{}

// Fingerprint collects it, within 5 seconds.
func (Device) Fingerprint(ctx context.Context) devinfo.Fingerprint { return Fingerprint(ctx) }
