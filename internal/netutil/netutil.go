// Package netutil holds the one loopback rule every part of iscdesk applies:
// plain HTTP is allowed only to this machine, and the sandbox listens only
// there. It imports only the standard library.
package netutil

import (
	"net/netip"
	"strings"
)

// IsLoopback reports whether host (a name or an address, without a port and
// without brackets) is "localhost" or a loopback address (127.0.0.0/8, ::1,
// or an IPv4-mapped loopback address).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
