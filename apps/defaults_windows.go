package apps

import (
	"os"
	"path/filepath"
)

// DefaultAppsDir is where packages are installed by default:
// %LOCALAPPDATA%\iscdesk\apps, per user and not roamed.
func DefaultAppsDir() (string, error) {
	dir, err := os.UserCacheDir() // %LOCALAPPDATA% on Windows
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iscdesk", "apps"), nil
}
