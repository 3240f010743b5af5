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
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	bin := compile(t, "gcc", "c99", "sdk/c/test/ctest.c")
	out, operates := c.runProgram(t, "ctest", exec.Command(bin, c.socket, c.key, c.work, c.dev))
	if !strings.HasSuffix(out, "PASS\n") {
		t.Fatalf("ctest did not pass:\n%s", out)
	}
	for _, op := range []string{"LicenseVerify", "UpgradeNotice", "Update", "OpenFile", "UploadStart", "UploadEnd", "SaveResult", "SolutionResult", "SaveAsPath"} {
		if operates[op] == 0 {
			t.Errorf("no %s event reached the callback", op)
		}
	}
	t.Logf("events: %v\n%s", operates, out)
}
