//go:build unix

package solver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The solver works on local files: it gets the proxy's address but never
// its password (childenv.For); an install script, which may download, is
// the one that gets it (apps).
func TestSolverEnvironmentHasNoProxyCredentials(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://user:pr0xy-pw@proxy.example:3128")
	t.Setenv("all_proxy", "socks5://pr0xy-pw@proxy.example:1080")
	s := NewCommand([]string{solverScript(t, `env > "$2/env.txt"; echo "proxy: $HTTPS_PROXY"`), "{input}", "{output}"}, time.Minute, filepath.Join(t.TempDir(), "results"))
	res, err := s.Solve(context.Background(), Request{Input: solverModel(t)})
	if err != nil {
		t.Fatal(err)
	}
	env := readText(t, filepath.Join(res.ResultDir, "env.txt"))
	log := readText(t, res.Log)
	if strings.Contains(env+log, "pr0xy-pw") {
		t.Fatalf("the proxy's password reaches the solver:\n%s\n%s", env, log)
	}
	if !strings.Contains(env, "HTTPS_PROXY=http://proxy.example:3128") || !strings.Contains(log, "proxy.example:3128") {
		t.Errorf("the proxy's address is lost:\n%s", env)
	}
}
