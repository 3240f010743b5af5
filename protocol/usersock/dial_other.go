//go:build !unix

package usersock

import "net"

// dialUnix connects with net.DialUnix where there is no dial_unix.go
// (Windows): the same connection as a net.Dialer's, without the Dialer's
// general path (name resolution, TCP, UDP), which the linker would keep.
func dialUnix(addr *net.UnixAddr) (net.Conn, error) {
	c, err := net.DialUnix("unix", nil, addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}
