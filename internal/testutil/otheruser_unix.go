//go:build !windows

package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
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
