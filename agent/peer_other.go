//go:build !linux

package agent

import "net"

// checkPeer: on macOS and Windows the socket's private folder is the check.
func checkPeer(net.Conn) error { return nil }
