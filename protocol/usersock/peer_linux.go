package usersock

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// peerCred reads SO_PEERCRED: on an accepted connection the client's
// credentials, on a dialed one the listener's.
func peerCred(fd int) (uid int, who string, err error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, "", err
	}
	return int(cred.Uid), fmt.Sprintf("peer pid %d", cred.Pid), nil
}
