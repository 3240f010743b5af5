//go:build !windows

package protocol

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultSocketPath is $XDG_RUNTIME_DIR/iscdesk/agent.sock (a 0700 folder of
// the user's, on Linux), else iscdesk-<uid>/agent.sock in the temporary folder
// (per-user on macOS). The agent creates the folder 0700 and refuses one that
// another user owns or others may enter.
func defaultSocketPath() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "iscdesk", "agent.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("iscdesk-%d", os.Getuid()), "agent.sock")
}
