package e2e_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCProgram runs ctest, built with gcc -Wall -Wextra -Werror against
// the library, against a real agent: every call and its events, a failing
// save and a failing solve, two threads at once, the agent restarting, and
// iscdesk_shut_out from inside a callback.
func TestCProgram(t *testing.T) {
	out, operates := runTestProgram(t, "gcc", "c99", "sdk/c/test/ctest.c", func(c *chain) []string { return []string{c.socket, c.key, c.work, c.dev} })
	for _, op := range []string{"LicenseVerify", "UpgradeNotice", "Update", "OpenFile", "UploadStart", "UploadEnd", "SaveResult", "SolutionResult", "SaveAsPath"} {
		if operates[op] == 0 {
			t.Errorf("no %s event reached the callback", op)
		}
	}
	t.Logf("events: %v\n%s", operates, out)
}

// runTestProgram starts the chain, builds the test program src with
// compiler against the library, runs it with args(chain), and returns its
// output and the operates of the events it printed once it passed.
func runTestProgram(t *testing.T, compiler, std, src string, args func(*chain) []string) (string, map[string]int) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	bin := compile(t, compiler, std, src)
	out, operates := c.runProgram(t, src, exec.Command(bin, args(c)...))
	if !strings.HasSuffix(out, "PASS\n") {
		t.Fatalf("%s did not pass (events %v):\n%s", src, operates, out)
	}
	return out, operates
}
