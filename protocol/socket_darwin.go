package protocol

import (
	"os"
	"path/filepath"
)

// userTempDir is $TMPDIR: on macOS launchd sets it to a folder of the
// user's own under /var/folders. A shared one set by hand does not count.
func userTempDir() string {
	dir := os.Getenv("TMPDIR")
	switch filepath.Clean(dir) {
	case ".", "/tmp", "/private/tmp", "/var/tmp", "/private/var/tmp":
		return ""
	}
	return dir
}
