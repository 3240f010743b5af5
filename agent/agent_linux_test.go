package agent_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPeerClientHelper is the child process of TestOtherUserRefused, run as
// another user: it tries to talk to the agent and prints what happened.
func TestPeerClientHelper(t *testing.T) {
	socket := os.Getenv("ISCDESK_PEER_SOCKET")
	if socket == "" {
		t.Skip("child process of TestOtherUserRefused")
	}
	c, err := net.Dial("unix", socket)
	if err != nil {
		os.Stdout.WriteString("refused: " + err.Error() + "\n")
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"hello","params":{"protocol":1}}` + "\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == io.EOF || err != nil && strings.Contains(err.Error(), "reset") {
		os.Stdout.WriteString("refused: closed\n")
		return
	} else if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		return
	}
	os.Stdout.WriteString("answered\n")
}

// A process of another user cannot connect: the socket's folder is private,
// and the agent checks the peer's credentials as well.
func TestOtherUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	w := newWorld(t)
	socket := socketIn(t)
	w.startAgent(t, socket, time.Second)

	// A copy of this test binary that the other user may run.
	binDir, err := os.MkdirTemp("", "iscpeer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "peer.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{binDir, filepath.Dir(filepath.Dir(socket))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runAs := func() string {
		cmd := exec.Command(bin, "-test.run", "^TestPeerClientHelper$")
		cmd.Env = []string{"ISCDESK_PEER_SOCKET=" + socket}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client as nobody: %v\n%s", err, out)
		}
		return string(out)
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
	if out := runAs(); !strings.Contains(out, "refused: closed") {
		t.Fatalf("past the folder: %q", out)
	}
}
