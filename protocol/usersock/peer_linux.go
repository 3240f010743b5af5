package usersock

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// CheckPeer checks that the process at the other end of c runs as this
// user (SO_PEERCRED: on an accepted connection the client's credentials, on
// a dialed one the listener's).
func CheckPeer(c net.Conn) error {
	raw, err := rawConn(c)
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("%w: peer credentials: %v", ErrOtherUser, credErr)
	}
	if uid := os.Getuid(); int(cred.Uid) != uid {
		return fmt.Errorf("%w: peer pid %d runs as uid %d, not as this user (uid %d)", ErrOtherUser, cred.Pid, cred.Uid, uid)
	}
	return nil
}
