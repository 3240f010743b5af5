package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Build says how to build a command.
type Build struct {
	// Env is added to the build's environment (e.g. "CGO_ENABLED=0").
	Env []string
	// Flags come before -o (e.g. "-trimpath", "-tags", "no_emoji").
	Flags []string
}

var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
}

// Binary builds the command pkg (a path below the module root such as
// "./cmd/iscdesk") as b says, once per test binary, and returns the
// binary's path. Call RemoveBinaries from TestMain to delete them.
func Binary(tb testing.TB, pkg string, b Build) string {
	tb.Helper()
	key := strings.Join(append(append([]string{pkg}, b.Env...), b.Flags...), "\x00")
	built.mu.Lock()
	defer built.mu.Unlock()
	if bin, ok := built.bins[key]; ok {
		return bin
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "iscdesk-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		built.dir, built.bins = dir, map[string]string{}
	}
	sub, err := os.MkdirTemp(built.dir, "")
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(sub, filepath.Base(pkg))
	args := append(append([]string{"build"}, b.Flags...), "-o", bin, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = ModuleRoot(tb)
	cmd.Env = append(os.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	built.bins[key] = bin
	return bin
}

// RemoveBinaries deletes what Binary built.
func RemoveBinaries() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
		built.dir, built.bins = "", nil
	}
}

// Main runs the tests and then deletes the binaries they built: a package's
// TestMain is `func TestMain(m *testing.M) { testutil.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	os.Exit(code)
}
