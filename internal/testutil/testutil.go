// Package testutil holds what the tests of several packages share: a buffer
// safe for concurrent writes, building a command of this module once per
// test binary, running a built binary as a process with a private home,
// running a test of the test binary as another user, the marketplace
// sandbox started as a process, and a loopback address where nothing
// listens.
//
// Only tests import it. It imports only the standard library, so that any
// package's internal tests can use it without an import cycle.
package testutil

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// LockedBuffer is a bytes.Buffer for writers on several goroutines (a
// process's output read while it is written, a shared log).
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ModuleRoot is the folder of this module's go.mod, found upwards from the
// test's working folder (its package folder).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Result is how a process ended.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs bin with args in the environment env (nil: this process's) and
// returns its exit code and output; it fails the test when bin cannot be
// started.
func Run(tb testing.TB, bin string, env []string, args ...string) Result {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	return r
}

// RealKeyring reports whether the tests run inside `make test`'s private
// D-Bus session with an unlocked gnome-keyring (ISCDESK_REAL_KEYRING=1).
func RealKeyring() bool { return os.Getenv("ISCDESK_REAL_KEYRING") == "1" }

// ProcessEnv is a private environment for a process of iscdesk: its own
// home and config folder, this PATH and the C.UTF-8 locale and, inside
// `make test`'s private session, the real keyring's bus (otherwise no
// session bus, so the encrypted file is used). home is the home folder.
func ProcessEnv(tb testing.TB) (env []string, home string) {
	home = tb.TempDir()
	env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if RealKeyring() {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	}
	return env, home
}

// With returns env with more variables, leaving env itself unchanged.
func With(env []string, vars ...string) []string {
	return append(env[:len(env):len(env)], vars...)
}
