package usersock

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// CheckPeer checks that the process at the other end of c runs as this
// user (LOCAL_PEERCRED, what getpeereid reads: on an accepted connection
// the client's credentials, on a dialed one the listener's).
func CheckPeer(c net.Conn) error {
	raw, err := rawConn(c)
	if err != nil {
		return err
	}
	var cred *unix.Xucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("%w: peer credentials: %v", ErrOtherUser, credErr)
	}
	if uid := os.Getuid(); int(cred.Uid) != uid {
		return fmt.Errorf("%w: the peer runs as uid %d, not as this user (uid %d)", ErrOtherUser, cred.Uid, uid)
	}
	return nil
}
