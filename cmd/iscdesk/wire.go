package main

import (
	"os"
	"time"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/wiring"
	"golang.org/x/term"
)

// wire is the process's wiring (configuration, keyring, the one license
// service), built on first use from the test hooks of io.
func (io *stdio) wire() *wiring.Env {
	if io.env == nil {
		io.env = &wiring.Env{Getenv: io.getenv, Paths: io.paths, Secrets: io.secrets, MachineID: io.machineID,
			Fingerprint: io.fingerprint, Host: io.host}
	}
	return io.env
}

// loadConfig reads the configuration files and the environment.
func (io *stdio) loadConfig() (config.Config, error) { return io.wire().LoadConfig() }

func (io *stdio) configPaths() config.Paths { return io.wire().ConfigPaths() }

// checkOverride refuses a flag (source, "--server") that sets the setting
// key to value when the machine-wide file locks key (kind Permission, the
// error naming the setting and the file), as config.Load refuses the
// environment.
func (io *stdio) checkOverride(key, source, value string) error {
	cfg, err := io.loadConfig()
	if err != nil {
		return err
	}
	return cfg.CheckOverride(key, source, value)
}

// isTerminal reports whether stream (standard input, output or error) is a
// terminal. golang.org/x/term rather than a character-device check, which
// takes /dev/null, the standard input of services, for one.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// formatTime renders a time for JSON: RFC 3339 UTC, "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
