//go:build !windows

package protocol

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultSocketPath is $XDG_RUNTIME_DIR/iscdesk/agent.sock (a 0700 folder of
// the user's, on Linux). Without it, the socket stays out of shared
// folders: on macOS in the user's own temporary folder ($TMPDIR, which
// launchd sets per user), else in the user's cache folder, one folder per
// machine since a home folder may be shared between machines. Only a user
// with neither a home nor a cache folder falls back to the system's
// temporary folder. Wherever it is, the agent creates the folder 0700 and
// refuses one that another user owns or may enter, and the SDK checks the
// same before it sends anything (package protocol/usersock).
func defaultSocketPath() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "iscdesk", "agent.sock")
	}
	if dir := userTempDir(); dir != "" {
		return filepath.Join(dir, fmt.Sprintf("iscdesk-%d", os.Getuid()), "agent.sock")
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "iscdesk", "run-"+hostTag(), "agent.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("iscdesk-%d", os.Getuid()), "agent.sock")
}

// hostTag names this machine in a folder name: its host name, in safe
// characters and at most 32 of them, so the socket path stays within
// sun_path's 104 bytes.
func hostTag() string {
	name, _ := os.Hostname()
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return -1
	}, name)
	name = strings.Trim(name, ".")
	if len(name) > 32 {
		name = name[:32]
	}
	if name == "" {
		return "localhost"
	}
	return name
}
