package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/protocol/usersock"
)

// ErrAlreadyRunning is returned by ListenPrivate (and so by Server.Listen)
// when another process of this user answers on the socket already.
var ErrAlreadyRunning = errors.New("agent: another iscdesk process of this user is already running on this socket")

// ListenPrivate claims a Unix socket at path for this process alone, with the
// agent's precautions: the folder is created private to this user (0700), and
// an existing one must be so already: one that another user owns or may
// enter is refused with an error naming it, never repaired (it may be
// another user's trap, or a folder of the user's that others share). The
// socket is made private too, and the listener hands out only connections
// of processes of this user (usersock.Listener). A socket that answers means
// another process serves it (ErrAlreadyRunning); one that does not was left
// by a process that died, and is replaced. The agent listens through it
// (Server.Listen), and so does the desktop app's single-instance channel
// beside the agent's socket.
func ListenPrivate(path string) (*usersock.Listener, error) {
	if err := usersock.PrepareDir(filepath.Dir(path)); err != nil {
		if errors.Is(err, usersock.ErrUnsafeFolder) {
			return nil, errs.E("agent.listen", errs.Permission, fmt.Errorf("%w; refusing it, since another user could pose as the desktop client there: "+
				"remove it or make it private (a folder of this user, mode 0700), or choose a socket in a private folder (%s)", err, protocol.SocketEnv))
		}
		return nil, errs.E("agent.listen", errs.Other, err)
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
	return &usersock.Listener{Listener: ln}, nil
}
