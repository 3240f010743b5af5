package protocol

import "os"

// SocketEnv names the environment variable that overrides the socket path
// (tests, several agents on one account).
const SocketEnv = "ISCDESK_AGENT_SOCKET"

// SocketPath returns where the agent of this user listens: $ISCDESK_AGENT_SOCKET
// when set, else the per-user default of this OS (see defaultSocketPath).
func SocketPath() string {
	if p := os.Getenv(SocketEnv); p != "" {
		return p
	}
	return defaultSocketPath()
}
