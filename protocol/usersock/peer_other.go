//go:build !linux && !darwin && !windows

package usersock

import (
	"errors"
	"runtime"
)

// peerCred fails: this OS's peer credentials are not read yet, and a peer
// that cannot be checked is not trusted.
func peerCred(int) (int, string, error) {
	return 0, "", errors.New("peer credentials are not read on " + runtime.GOOS)
}
