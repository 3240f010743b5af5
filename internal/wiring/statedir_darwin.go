package wiring

import (
	"os"
	"path/filepath"
)

// defaultStateDir is the user's state folder for iscdesk: macOS has no
// folder of its own for state, so it is a "state" folder inside
// ~/Library/Application Support/iscdesk, the settings' folder.
func defaultStateDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "iscdesk", "state")
}
