// Package usersock keeps the agent's socket private to its user: the checks
// both ends make before they trust the other. The socket's folder must be a
// folder of this user that nobody else may enter (CheckDir, PrepareDir), and
// the process at the other end of a connection must run as this user
// (CheckPeer): on Linux SO_PEERCRED, on macOS LOCAL_PEERCRED (getpeereid).
// Windows has no peer credentials on AF_UNIX sockets; there the folder's
// owner is checked and the folder lives in the user's profile, which other
// standard users cannot enter.
//
// The SDK dials through Dial, so a program sends nothing to a socket another
// user could have put in the agent's place; the agent and the desktop app's
// single-instance channel listen through Listener, which hands out only the
// connections of this user. Where the socket is (protocol.SocketPath) is
// package protocol's; this package never decides a path.
//
// It imports the standard library and golang.org/x/sys only: vendors compile
// it into their products through package sdk.
package usersock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

var (
	// ErrUnsafeFolder: the socket's folder is not private to this user:
	// another user owns it or may enter it, or it is not a plain folder
	// (a symbolic link, a file). Someone may be posing as the agent.
	ErrUnsafeFolder = errors.New("unsafe socket folder")
	// ErrOtherUser: the process at the other end of the connection runs as
	// another user, or this OS cannot tell who it runs as.
	ErrOtherUser = errors.New("socket peer of another user")
)

// PrepareDir makes dir the private folder of a socket: it creates it (and
// its missing parents) closed to everyone else, and checks an existing one
// with CheckDir. It never changes the mode or owner of a folder that was
// already there: a folder another user made, or one of this user's that is
// open to others, is refused, not repaired.
func PrepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the socket folder %s: %w", dir, err)
	}
	return CheckDir(dir)
}

// Dial connects to the socket at path after checking its folder (CheckDir),
// and returns the connection only when the process listening runs as this
// user (CheckPeer). Nothing is written to the connection.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// dialUnix, not a net.Dialer: the Dialer's general path links in what a
	// Unix-domain socket never uses (the DNS resolver, TCP, UDP), and the
	// SDK's C library (sdk/c) carries all of it, 0.3 MB of 3.6. A
	// Unix-domain connect does not wait (a full backlog fails at once), so
	// ctx matters only before it, as for the Dialer.
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: addr, Err: err}
	}
	c, err := dialUnix(addr)
	if err != nil {
		return nil, err
	}
	if err := CheckPeer(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Listener hands out only the connections whose peer runs as this user
// (CheckPeer); it closes the others at once, unread.
type Listener struct {
	net.Listener
	// Refused, when set, hears why each refused connection was closed.
	Refused func(error)
}

// Accept waits for the next connection of this user.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := CheckPeer(c); err != nil {
			c.Close()
			if l.Refused != nil {
				l.Refused(err)
			}
			continue
		}
		return c, nil
	}
}
