package e2e_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// valgrindExit is the exit code valgrind gives when it found an error (a
// leak counts: --errors-for-leak-kinds).
const valgrindExit = 99

// valgrind runs the C test program under valgrind with the Go runtime's
// suppressions (sdk/c/test/go-runtime.supp) and every leak kind an error.
func valgrind(t *testing.T, c *chain, defines ...string) (out, stderr string, err error) {
	t.Helper()
	vg, lookErr := exec.LookPath("valgrind")
	if lookErr != nil {
		t.Fatal("valgrind is missing (make deps installs it)")
	}
	var src []string
	for _, d := range defines {
		src = append(src, "-D"+d)
	}
	bin := compile(t, "gcc", "c99", append([]string{"sdk/c/test/ctest.c"}, src...)...)
	supp := filepath.Join(testutil.ModuleRoot(t), "sdk", "c", "test", "go-runtime.supp")
	cmd := exec.Command(vg, "--quiet", "--leak-check=full", "--show-leak-kinds=all",
		"--errors-for-leak-kinds=definite,indirect,possible", "--error-exitcode=99",
		"--suppressions="+supp, bin, c.socket, c.key, c.work, c.dev)
	c.env = testutil.With(c.env, "CTEST_VALGRIND=1")
	out, _, stderr, err = c.run(t, cmd)
	return out, stderr, err
}

var definitelyLost = regexp.MustCompile(`[0-9,]+ bytes in [0-9,]+ blocks are definitely lost`)

// TestCProgramUnderValgrind runs ctest under valgrind: no leak of the
// library's allocations, no memory error in the program. A build of ctest
// that forgets iscdesk_free must be caught, so the check can fail.
func TestCProgramUnderValgrind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole chain under valgrind")
	}
	c := startChain(t)
	out, stderr, err := valgrind(t, c)
	if err != nil || !strings.HasSuffix(out, "PASS\n") {
		t.Fatalf("ctest under valgrind: %v\n%s\nvalgrind:\n%s", err, out, stderr)
	}
	t.Logf("valgrind: clean\n%s", stderr)

	_, stderr, err = valgrind(t, c, "CTEST_LEAK")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != valgrindExit || !definitelyLost.MatchString(stderr) {
		t.Fatalf("strings of the library that ctest did not free went unnoticed: %v\n%s", err, stderr)
	}
}
