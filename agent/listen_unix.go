//go:build !windows

package agent

import "os"

// restrictSocket makes the socket file private too; the folder is what
// keeps other users out.
func restrictSocket(path string) error { return os.Chmod(path, 0o600) }
