//go:build !windows

package testutil

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// OtherUID is the user the tests run processes as when they need another
// local user: nobody.
const OtherUID = 65534

// AsOtherUser returns a command that runs the test named test of this test
// binary as user OtherUID (nobody), with env as its whole environment: the
// process stands for another local user (an attacker squatting a folder,
// posing as the agent, knocking on a socket). The binary is copied where
// that user may run it; the copy is removed when the test ends. The test
// is skipped, saying why, unless it runs as root (as in CI), since only
// root may start a process as another user.
func AsOtherUser(tb testing.TB, test string, env ...string) *exec.Cmd {
	tb.Helper()
	if os.Getuid() != 0 {
		tb.Skip("needs root to run a process as another user (nobody): run the tests as root, as CI does")
	}
	dir, err := os.MkdirTemp("", "otheruser")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "otheruser.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run", "^"+test+"$")
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: OtherUID, Gid: OtherUID}}
	return cmd
}

// Knock is what another user's process does in the peer-check tests: it
// dials the Unix socket at path, sends line and reads one line back. It
// says what happened: "refused: …" when it could not connect, "closed: …"
// when the connection ended unanswered, "reply: …" with the answer.
func Knock(path, line string) string {
	c, err := net.Dial("unix", path)
	if err != nil {
		return "refused: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(line + "\n"))
	reply, err := bufio.NewReader(c).ReadString('\n')
	if reply == "" {
		return fmt.Sprintf("closed: %v", err)
	}
	return "reply: " + reply
}

// OtherUserEnv returns the environment variable name of a helper test that
// AsOtherUser runs, and skips the test when it is not set: run on its own,
// the helper has nothing to do.
func OtherUserEnv(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Skip("the other user's process of another test (through testutil.AsOtherUser)")
	}
	return v
}
