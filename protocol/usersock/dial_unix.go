//go:build unix

package usersock

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// dialUnix connects to the Unix-domain socket addr with the system calls
// net.DialUnix makes, without package net's sockets: those link in its
// general socket code (addresses, TCP, UDP, listeners), 78 KB of the SDK's C
// library (sdk/c). The connection behaves as a *net.UnixConn does: the
// same errors (*net.OpError wrapping the system call's error, net.ErrClosed
// after Close), deadlines and blocking through the runtime's poller, which
// os.File gives a non-blocking descriptor.
//
// A non-blocking connect on a Unix-domain socket does not wait: it connects
// or fails at once (a full backlog is EAGAIN on Linux, ECONNREFUSED on
// macOS), so there is nothing to wait for after it, as net finds.
func dialUnix(addr *net.UnixAddr) (net.Conn, error) {
	// As net does where socket(2) takes no SOCK_CLOEXEC (macOS): the lock
	// keeps a fork between socket and CloseOnExec from inheriting fd.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: addr, Err: os.NewSyscallError("socket", err)}
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: addr, Err: os.NewSyscallError("setnonblock", err)}
	}
	for {
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: addr.Name})
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EISCONN { // an interrupted connect that went through
		err = nil
	}
	if err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: addr, Err: os.NewSyscallError("connect", err)}
	}
	c := &unixConn{raddr: addr}
	if sa, err := syscall.Getsockname(fd); err == nil {
		if u, ok := sa.(*syscall.SockaddrUnix); ok {
			c.laddr = &net.UnixAddr{Name: u.Name, Net: "unix"}
		}
	}
	c.f = os.NewFile(uintptr(fd), addr.Name)
	return c, nil
}

// unixConn is a dialed Unix-domain connection: an os.File, whose errors it
// gives the shape of package net's.
type unixConn struct {
	f            *os.File
	laddr, raddr *net.UnixAddr
	closed       atomic.Bool
}

func (c *unixConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

func (c *unixConn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

func (c *unixConn) Close() error {
	if c.closed.Swap(true) {
		return c.opError("close", net.ErrClosed)
	}
	if err := c.f.Close(); err != nil {
		return c.opError("close", err)
	}
	return nil
}

func (c *unixConn) LocalAddr() net.Addr {
	if c.laddr == nil {
		return nil
	}
	return c.laddr
}

func (c *unixConn) RemoteAddr() net.Addr { return c.raddr }

func (c *unixConn) SetDeadline(t time.Time) error {
	return c.setDeadline(t, (*os.File).SetDeadline)
}

func (c *unixConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(t, (*os.File).SetReadDeadline)
}

func (c *unixConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(t, (*os.File).SetWriteDeadline)
}

// setDeadline fails as net's do: with the local address only.
func (c *unixConn) setDeadline(t time.Time, set func(*os.File, time.Time) error) error {
	err := set(c.f, t)
	if c.closed.Load() {
		err = net.ErrClosed
	}
	if err != nil {
		return &net.OpError{Op: "set", Net: "unix", Addr: c.LocalAddr(), Err: err}
	}
	return nil
}

// dialedUnix marks the connections of dialUnix, for CheckPeer.
func (c *unixConn) dialedUnix() {}

// SyscallConn gives the descriptor, for CheckPeer.
func (c *unixConn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

// opError is package net's error for op: the system call's error as an
// *os.SyscallError, a closed connection as net.ErrClosed, a deadline as
// os.ErrDeadlineExceeded, where os.File says *os.PathError and os.ErrClosed.
func (c *unixConn) opError(op string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, os.ErrClosed) || c.closed.Load() && !errors.Is(err, os.ErrDeadlineExceeded):
		err = net.ErrClosed
	case errors.As(err, &errno):
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "unix", Source: c.LocalAddr(), Addr: c.raddr, Err: err}
}
