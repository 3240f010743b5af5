//go:build !linux && !darwin && !windows

package usersock

import (
	"fmt"
	"net"
	"runtime"
)

// CheckPeer refuses every connection: this OS's peer credentials are not
// read yet, and a peer that cannot be checked is not trusted.
func CheckPeer(net.Conn) error {
	return fmt.Errorf("%w: peer credentials are not read on %s", ErrOtherUser, runtime.GOOS)
}
