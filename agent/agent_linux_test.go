package agent_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/protocol"
)

// TestPeerClientHelper is the child process of TestOtherUserRefused, run as
// another user: it tries to talk to the agent and prints what happened.
func TestPeerClientHelper(t *testing.T) {
	socket := testutil.OtherUserEnv(t, "ISCDESK_PEER_SOCKET")
	fmt.Println(testutil.Knock(socket, `{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1}}`))
}

// A process of another user cannot connect: the socket's folder is private,
// and the agent checks the peer's credentials as well.
func TestOtherUserRefused(t *testing.T) {
	w := newWorld(t)
	socket := socketIn(t)
	runAs := func() string {
		out, err := testutil.AsOtherUser(t, "TestPeerClientHelper", "ISCDESK_PEER_SOCKET="+socket).CombinedOutput()
		if err != nil {
			t.Fatalf("client as nobody: %v\n%s", err, out)
		}
		return string(out)
	}
	w.startAgent(t, socket, time.Second)
	if err := os.Chmod(filepath.Dir(filepath.Dir(socket)), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := runAs(); !strings.Contains(out, "refused: ") || !strings.Contains(out, "permission denied") {
		t.Fatalf("through the private folder: %q", out)
	}
	// With the folder and socket opened by hand, the peer-credential check
	// still refuses.
	for _, p := range []string{filepath.Dir(socket), socket} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if out := runAs(); !strings.HasPrefix(out, "closed: ") {
		t.Fatalf("past the folder: %q", out)
	}
}

// TestSquatHelper is the other user's process of TestSquattedFolder: it
// creates the folder $ISCDESK_SQUAT open to everyone, where the agent's
// socket would go.
func TestSquatHelper(t *testing.T) {
	dir := testutil.OtherUserEnv(t, "ISCDESK_SQUAT")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
}

// Another user who creates the socket's folder first does not get the
// agent's socket: the agent refuses the folder with an error that names it,
// says whose it is and what to do, and leaves it as it is (issue 11,
// finding 3).
func TestSquattedFolder(t *testing.T) {
	base, err := os.MkdirTemp("", "squat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o1777); err != nil { // like /tmp
		t.Fatal(err)
	}
	dir := filepath.Join(base, "iscdesk")
	if out, err := testutil.AsOtherUser(t, "TestSquatHelper", "ISCDESK_SQUAT="+dir).CombinedOutput(); err != nil {
		t.Fatalf("squatting as nobody: %v\n%s", err, out)
	}
	_, err = agent.New(agent.Config{SocketPath: filepath.Join(dir, "agent.sock")}).Listen()
	if errs.KindOf(err) != errs.Permission {
		t.Fatalf("err = %v, want a Permission error", err)
	}
	for _, want := range []string{dir, fmt.Sprintf("belongs to uid %d", testutil.OtherUID), "another user could pose as the desktop client", protocol.SocketEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o777 || st.Sys().(*syscall.Stat_t).Uid != testutil.OtherUID {
		t.Errorf("the squatted folder was changed: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "agent.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a socket was made in the squatted folder: %v", err)
	}
}

// ISCDESK_AGENT_SOCKET may point into a folder of the user's that others
// may enter: the agent refuses it, saying so, and does not chmod it (that
// would close a folder the user shares on purpose; issue 11, finding 8). A
// folder it creates itself is private.
func TestSocketEnvFolder(t *testing.T) {
	base, err := os.MkdirTemp("", "env")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	open := filepath.Join(base, "shared")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(protocol.SocketEnv, filepath.Join(open, "agent.sock"))
	_, err = agent.New(agent.Config{}).Listen()
	if errs.KindOf(err) != errs.Permission || !strings.Contains(err.Error(), open) || !strings.Contains(err.Error(), "open to other users (mode 0755") {
		t.Fatalf("err = %v, want a Permission error naming %s open to others", err, open)
	}
	if st, err := os.Stat(open); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("the user's folder was changed: %v %v", st.Mode(), err)
	}

	fresh := filepath.Join(base, "new", "run")
	t.Setenv(protocol.SocketEnv, filepath.Join(fresh, "agent.sock"))
	ln, err := agent.New(agent.Config{}).Listen()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	for _, d := range []string{fresh, filepath.Dir(fresh)} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a private folder", d, st.Mode(), err)
		}
	}
}
