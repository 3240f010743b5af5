package usersock

import "golang.org/x/sys/unix"

// peerCred reads LOCAL_PEERCRED, what getpeereid reads: on an accepted
// connection the client's credentials, on a dialed one the listener's.
func peerCred(fd int) (uid int, who string, err error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, "", err
	}
	return int(cred.Uid), "the peer", nil
}
