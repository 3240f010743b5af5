package agent

import (
	"fmt"
	"net"
	"os"
)

// ListenPrivate listens on a Unix socket at path with the agent's own
// precautions: the folder is created private to this user (0700; on
// Unix an existing folder of another user is refused) and so is the socket.
// A socket file left by a process that died is replaced; the caller checks
// first that no live process answers there. The desktop app uses it for its
// single-instance channel beside the agent's socket.
func ListenPrivate(path string) (net.Listener, error) {
	if err := prepareSocketDir(path); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := restrictSocket(path); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
