package testutil

import (
	"net"
	"testing"
)

// ClosedAddr returns a loopback "host:port" where nothing listens (the port
// was free a moment ago): a server, or a proxy, that cannot be reached.
func ClosedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
