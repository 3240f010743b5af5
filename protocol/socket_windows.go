package protocol

import (
	"os"
	"path/filepath"
)

// defaultSocketPath is an AF_UNIX socket in the user's local application data
// folder, which only the user (and administrators) may enter.
func defaultSocketPath() string {
	dir := os.Getenv("LOCALAPPDATA")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "iscdesk", "agent.sock")
}
