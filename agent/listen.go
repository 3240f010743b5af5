package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ErrAlreadyRunning is returned by ListenPrivate (and so by Server.Listen)
// when another process of this user answers on the socket already.
var ErrAlreadyRunning = errors.New("agent: another iscdesk process of this user is already running on this socket")

// ListenPrivate claims a Unix socket at path for this process alone, with the
// agent's precautions: the folder is created private to this user (0700; on
// Unix an existing folder of another user is refused) and so is the socket.
// A socket that answers means another process serves it (ErrAlreadyRunning);
// one that does not was left by a process that died, and is replaced. The
// agent listens through it (Server.Listen), and so does the desktop app's
// single-instance channel beside the agent's socket.
func ListenPrivate(path string) (net.Listener, error) {
	if err := prepareSocketDir(path); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w (%s)", ErrAlreadyRunning, path)
	}
	_ = os.Remove(path) // stale socket of a process that died
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
