//go:build !windows

package protocol_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/protocol"
)

// Without XDG_RUNTIME_DIR the socket is no longer in the shared temporary
// folder, where another user could create its folder first (issue 11,
// finding 3): it is in the user's cache folder, per machine.
func TestSocketPathNotShared(t *testing.T) {
	home, run := t.TempDir(), t.TempDir()
	for k, v := range map[string]string{protocol.SocketEnv: "", "XDG_RUNTIME_DIR": "", "XDG_CACHE_HOME": "", "TMPDIR": "", "HOME": home} {
		t.Setenv(k, v)
	}
	if p := protocol.SocketPath(); !strings.HasPrefix(p, home+string(filepath.Separator)) || filepath.Base(p) != "agent.sock" {
		t.Errorf("without XDG_RUNTIME_DIR: %s, want a socket in the home folder %s", p, home)
	}
	t.Setenv("XDG_RUNTIME_DIR", run)
	if p, want := protocol.SocketPath(), filepath.Join(run, "iscdesk", "agent.sock"); p != want {
		t.Errorf("with XDG_RUNTIME_DIR: %s, want %s", p, want)
	}
	t.Setenv(protocol.SocketEnv, "/somewhere/else.sock")
	if p := protocol.SocketPath(); p != "/somewhere/else.sock" {
		t.Errorf("with %s: %s", protocol.SocketEnv, p)
	}
}
