package e2e_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCppSaveAs runs cppsaveas, built with g++ -std=c++17 -Wall -Wextra
// -Werror against the library, against a real agent: the C++ wrapper's
// SelectSaveAsPath (its event through the callback) and
// SelectSaveAsPathWait, and a hostile suggestion refused.
func TestCppSaveAs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain")
	}
	c := startChain(t)
	bin := compile(t, "g++", "c++17", "sdk/c/test/cppsaveas.cpp")
	out, operates := c.runProgram(t, "cppsaveas", exec.Command(bin))
	if !strings.HasSuffix(out, "PASS\n") || operates["SaveAsPath"] != 2 {
		t.Fatalf("cppsaveas did not pass (events %v):\n%s", operates, out)
	}
}
