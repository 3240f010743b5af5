//go:build cgo

package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/protocol/usersock"
)

// The desktop app runs once per user: its window listens on gui.sock, beside
// the agent's socket in the same private folder, and a second launch asks the
// first to show itself instead of opening a second window. fyne v2.7 has no
// single-instance support of its own.
//
// The protocol is one line each way: a command ("show", "screen NAME",
// "quit"), then "ok" or "error: …". Both ends check that the other runs as
// this user (protocol/usersock): the window takes no command from another
// user's process, and a second launch sends none to another user's socket.

const guiSocketName = "gui.sock"

// errOtherInstance means another window of this user answered and was asked
// to come forward.
var errOtherInstance = errors.New("the desktop app is already running: its window was brought forward")

// guiSocketPath is gui.sock in the agent socket's folder.
func guiSocketPath() string { return filepath.Join(filepath.Dir(protocol.SocketPath()), guiSocketName) }

// askInstance sends cmd to the running window at path and returns its reply;
// ok is false when no window answers.
func askInstance(path, cmd string) (reply string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	c, err := usersock.Dial(ctx, path)
	cancel()
	if err != nil {
		return "", false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return "", true
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), true
}

// instance is the claimed single-instance channel.
type instance struct{ ln net.Listener }

// claimInstance makes this process the user's desktop app, or returns
// errOtherInstance after asking the running one to show its window. The
// listener is agent.ListenPrivate's: it hands out only connections of this
// user's processes.
func claimInstance(path string) (*instance, error) {
	if _, ok := askInstance(path, "show"); ok {
		return nil, errOtherInstance
	}
	ln, err := agent.ListenPrivate(path)
	if err != nil {
		return nil, err
	}
	return &instance{ln: ln}, nil
}

// serve answers commands with handle until ctx ends.
func (in *instance) serve(ctx context.Context, handle func(cmd string) error) {
	stop := context.AfterFunc(ctx, func() { in.ln.Close() })
	defer stop()
	for {
		c, err := in.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			reply := "ok"
			if err := handle(strings.TrimSpace(line)); err != nil {
				reply = "error: " + err.Error()
			}
			_, _ = c.Write([]byte(reply + "\n"))
		}()
	}
}
