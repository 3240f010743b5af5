package protocol

import (
	"os"
	"path/filepath"
)

// defaultSocketPath is an AF_UNIX socket in the user's local application data
// folder, which only the user (and administrators) may enter. Without
// LOCALAPPDATA it is the same folder found from the user's profile, and only
// a process with neither falls back to the temporary folder.
func defaultSocketPath() string {
	dir := os.Getenv("LOCALAPPDATA")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, "AppData", "Local")
		} else {
			dir = os.TempDir()
		}
	}
	return filepath.Join(dir, "iscdesk", "agent.sock")
}
