//go:build !windows

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// prepareSocketDir makes sure the socket's folder exists, belongs to this
// user and is closed to everyone else (0700): the folder, not only the
// socket, is what keeps other users out.
func prepareSocketDir(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Getuid() {
		return errs.E("agent.listen", errs.Permission, fmt.Errorf("socket folder %s is not a folder of this user", dir))
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return errs.E("agent.listen", errs.Permission, fmt.Errorf("socket folder %s is open to other users: %w", dir, err))
		}
	}
	return nil
}

// restrictSocket makes the socket file itself private too.
func restrictSocket(path string) error { return os.Chmod(path, 0o600) }
