package e2e_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/server"
)

// checkExample checks what every example does: a verified license, the
// save's events, and the save's result.
func checkExample(t *testing.T, out string, operates map[string]int) {
	t.Helper()
	for _, op := range []string{"LicenseVerify", "UploadStart", "UploadEnd", "SaveResult"} {
		if operates[op] == 0 {
			t.Errorf("no %s event:\n%s", op, out)
		}
	}
	if !strings.Contains(out, "saved: ") || !strings.Contains(out, "part.prt") {
		t.Errorf("no save result:\n%s", out)
	}
}

// The C and C++ examples of the README, built with gcc and g++ (over
// iscdesk.hpp) with -Wall -Wextra -Werror.
func TestCAndCppExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	for _, e := range []struct{ compiler, std, src string }{
		{"gcc", "c99", "sdk/c/examples/example.c"},
		{"g++", "c++17", "sdk/c/examples/example.cpp"},
	} {
		bin := compile(t, e.compiler, e.std, e.src)
		out, operates := c.runProgram(t, e.src, exec.Command(bin, c.key, filepath.Join(c.work, "part.prt")))
		checkExample(t, out, operates)
	}
}

// runPython runs a script (a path below the module's root) with the
// system's python3, which imports iscdesk.py over the library, against c.
func (c *chain) runPython(t *testing.T, script string, args ...string) (string, map[string]int) {
	t.Helper()
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatal("the system's python3 is missing (make deps installs it)")
	}
	root := testutil.ModuleRoot(t)
	c.env = testutil.With(c.env, "PYTHONPATH="+filepath.Join(root, "sdk", "c", "python"),
		"ISCDESK_LIBRARY="+filepath.Join(library(t), "libiscdesk.so"), "PYTHONDONTWRITEBYTECODE=1")
	return c.runProgram(t, script, exec.Command(python, append([]string{filepath.Join(root, script)}, args...)...))
}

// The Python example, run by the system's python3 over the ctypes module:
// no compiler involved.
func TestPythonExample(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	out, operates := c.runPython(t, "sdk/c/examples/example.py", c.key, filepath.Join(c.work, "part.prt"))
	checkExample(t, out, operates)
	if !strings.Contains(out, "failed save: -5 not_exist") {
		t.Errorf("the failing save is not reported:\n%s", out)
	}
}

// Every method of iscdesk.py against a real agent (sdk/c/test/pytest_calls.py).
func TestPythonCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	out, operates := c.runPython(t, "sdk/c/test/pytest_calls.py", c.key, c.work, c.dev)
	if !strings.HasSuffix(out, "PASS\n") {
		t.Fatalf("pytest_calls.py did not pass:\n%s", out)
	}
	for _, op := range []string{"LicenseVerify", "UpgradeNotice", "Update", "OpenFile", "UploadStart", "UploadEnd", "SaveResult", "SolutionResult", "SaveAsPath"} {
		if operates[op] == 0 {
			t.Errorf("no %s event reached the Python callback", op)
		}
	}
}

// A floating license of one seat through the library (Python over it): one
// program holds the lease, another's queued request gets LicenseQueued, and
// its license once the first shuts out (sdk/c/test/pytest_floating.py).
func TestFloatingQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChainWith(t, server.Config{
		Default:  server.Product{LicenseModel: server.ModelFloating},
		LeaseTTL: 2 * time.Second, HeartbeatInterval: 300 * time.Millisecond,
	}, 1)
	out, operates := c.runPython(t, "sdk/c/test/pytest_floating.py", c.key, c.dev)
	if !strings.HasSuffix(out, "PASS\n") || operates["LicenseQueued"] != 1 {
		t.Fatalf("pytest_floating.py: events %v\n%s", operates, out)
	}
}
