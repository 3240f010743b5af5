package wiring

import (
	"os"
	"path/filepath"
)

// defaultStateDir is the user's state folder for iscdesk:
// %LOCALAPPDATA%\iscdesk, which stays on this machine (the settings are in
// the roaming %APPDATA%).
func defaultStateDir() string {
	dir, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "iscdesk")
}
