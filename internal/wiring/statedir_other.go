//go:build !windows && !darwin

package wiring

import (
	"os"
	"path/filepath"
)

// defaultStateDir is the user's state folder for iscdesk:
// $XDG_STATE_HOME/iscdesk, else ~/.local/state/iscdesk (the XDG base
// directory rule; a relative XDG_STATE_HOME is ignored, as the rule says).
func defaultStateDir() string {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "iscdesk")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "state", "iscdesk")
}
