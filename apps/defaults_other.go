//go:build !windows

package apps

import (
	"os"
	"path/filepath"
)

// DefaultAppsDir is where packages are installed by default: iscdesk-apps
// in the home folder, beside the iscdesk-cloud drive folder, where users
// find them.
func DefaultAppsDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "iscdesk-apps"), nil
}
