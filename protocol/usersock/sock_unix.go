//go:build !windows

package usersock

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// CheckDir checks that dir is a folder (not a symbolic link) owned by this
// user and closed to group and others (no permission bits beyond 0700).
func CheckDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a folder (%v)", ErrUnsafeFolder, dir, st.Mode().Type())
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: cannot tell who owns %s", ErrUnsafeFolder, dir)
	}
	if uid := os.Getuid(); int(sys.Uid) != uid {
		return fmt.Errorf("%w: %s belongs to uid %d, not to this user (uid %d)", ErrUnsafeFolder, dir, sys.Uid, uid)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s is open to other users (mode %04o, want 0700)", ErrUnsafeFolder, dir, perm)
	}
	return nil
}

// dialedConn is a connection of Dial (dial_unix.go).
type dialedConn interface {
	syscall.Conn
	dialedUnix()
}

// CheckPeer checks that the process at the other end of c runs as this
// user: on an accepted connection the client, on a dialed one the listener
// (Linux SO_PEERCRED, macOS LOCAL_PEERCRED; other systems refuse every
// peer, since they are not read there).
func CheckPeer(c net.Conn) error {
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.UnixConn:
		sc = c
	case dialedConn:
		sc = c
	default:
		return fmt.Errorf("%w: not a Unix-domain socket (%T)", ErrOtherUser, c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var (
		uid     int
		who     string
		credErr error
	)
	if err := raw.Control(func(fd uintptr) { uid, who, credErr = peerCred(int(fd)) }); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("%w: peer credentials: %v", ErrOtherUser, credErr)
	}
	if me := os.Getuid(); uid != me {
		return fmt.Errorf("%w: %s runs as uid %d, not as this user (uid %d)", ErrOtherUser, who, uid, me)
	}
	return nil
}
