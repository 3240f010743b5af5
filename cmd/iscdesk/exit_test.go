package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/filelock"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
)

// TestExitCodes reaches every exit code of the CLI contract (docs/cli.md)
// that a license command can end with, each through a real command of the
// built binary against the license server and the sandbox on loopback. (7
// and 8 come from `app install`, tested in app_test.go; 5 only from
// iscdesk-server, whose marketplace credentials a desktop never sees: the
// server's refusal reaches the desktop as 4.)
func TestExitCodes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("interrupts and stand-in scripts are unix")
	}
	bin := buildBinary(t)
	sb, srv := vendortest.WithSandboxProcess(t, bin, vendortest.Options{})
	// A server whose marketplace refuses its AK/SK.
	refused := vendortest.Start(t, vendortest.Options{Marketplace: vendortest.Marketplace{URL: sb.URL, AK: sb.AK, SK: "not-the-secret"}})
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>a captive portal</html>"))
	}))
	defer garbage.Close()

	for _, c := range []struct {
		code int
		name string
		// setup prepares the home folder and returns the environment
		// variables to add to the private one.
		setup func(t *testing.T, home string) []string
		args  []string
		// alone runs a copy of the binary with no window binary anywhere.
		alone bool
		// interrupt sends SIGINT once the process waits for the lock.
		interrupt bool
	}{
		{code: exitcode.OK, name: "activate a delivered code", setup: at(srv.URL, srv.Key), args: []string{"activate", sb.Codes["ready"][0]}},
		{code: exitcode.Internal, name: "no arguments and no window installed", alone: true},
		{code: exitcode.Usage, name: "a malformed license code", setup: at(srv.URL, srv.Key), args: []string{"activate", "PL 1;x"}},
		{code: exitcode.Usage, name: "an unknown command", args: []string{"nosuchcommand"}},
		{code: exitcode.Usage, name: "no vendor key pinned", setup: at(srv.URL, ""), args: []string{"activate", sb.Codes["ready"][1]}},
		{code: exitcode.NotUsable, name: "nothing cached", args: []string{"status", "--offline"}},
		{code: exitcode.NotUsable, name: "a code not delivered yet", setup: at(srv.URL, srv.Key), args: []string{"activate", sb.Codes["undelivered"][0]}},
		{code: exitcode.Unreachable, name: "a license server answering garbage", setup: at(garbage.URL, srv.Key), args: []string{"activate", sb.Codes["ready"][1]}},
		{code: exitcode.Unreachable, name: "no license server listening", setup: at("http://"+testutil.ClosedAddr(t), srv.Key), args: []string{"activate", sb.Codes["ready"][1]}},
		{code: exitcode.Unreachable, name: "the marketplace refusing the server's credentials", setup: at(refused.URL, refused.Key), args: []string{"activate", sb.Codes["ready"][1]}},
		{code: exitcode.Storage, name: "a damaged install secret", setup: damagedFileStore, args: []string{"status", "--offline"}},
		{code: exitcode.Canceled, name: "Ctrl-C while another process holds the authorization", setup: holdLock, args: []string{"forget"}, interrupt: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, home := testutil.ProcessEnv(t)
			// The encrypted file in the case's own home, never a keyring
			// that the cases (and other tests) would share.
			env = testutil.With(env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "no-bus"))
			if c.setup != nil {
				env = testutil.With(env, c.setup(t, home)...)
			}
			run := bin
			if c.alone {
				run = withWindowStandIn(t, bin, false)
				env = testutil.With(env, "PATH="+t.TempDir())
			}
			r := runInterruptible(t, run, env, c.interrupt, filepath.Join(home, ".config", "iscdesk", "authorization.lock"), c.args...)
			if r.Code != c.code {
				t.Fatalf("iscdesk %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), r.Code, c.code, r.Stdout, r.Stderr)
			}
			if c.code != exitcode.OK && (!strings.HasPrefix(r.Stderr, "iscdesk: ") || strings.Count(r.Stderr, "\n") != 1) {
				t.Errorf("stderr is not one 'iscdesk:' line: %q", r.Stderr)
			}
		})
	}
}

// at points the case at the license server url with the pinned key.
func at(url, key string) func(*testing.T, string) []string {
	return func(*testing.T, string) []string {
		return []string{"ISCDESK_SERVER=" + url, "ISCDESK_SERVER_KEY=" + key}
	}
}

// damagedFileStore leaves a cached authorization in the encrypted file
// whose install secret is not one.
func damagedFileStore(t *testing.T, home string) []string {
	dir := filepath.Join(home, ".config", "iscdesk")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"authorization.sealed": "ISF1 sealed bytes", "install.secret": "not a secret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

// holdLock takes the authorization's lock as another iscdesk process would
// and keeps it for the rest of the test.
func holdLock(t *testing.T, home string) []string {
	unlock, err := filelock.Lock(context.Background(), filepath.Join(home, ".config", "iscdesk", "authorization.lock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	return nil
}

// runInterruptible runs bin; with interrupt set it sends SIGINT once the
// process has lockFile open (it then waits for the lock, its signal handler
// set), as Ctrl-C in a terminal would.
func runInterruptible(t *testing.T, bin string, env []string, interrupt bool, lockFile string, args ...string) testutil.Result {
	t.Helper()
	if !interrupt {
		return testutil.Run(t, bin, env, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitOpen(t, cmd.Process.Pid, lockFile)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return testutil.Result{Code: cmd.ProcessState.ExitCode(), Stdout: out.String(), Stderr: errb.String()}
}

// waitOpen waits until process pid has path open (Linux: /proc/PID/fd);
// elsewhere it waits a second.
func waitOpen(t *testing.T, pid int, path string) {
	t.Helper()
	fds := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	if _, err := os.Stat(fds); err != nil {
		time.Sleep(time.Second)
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		entries, _ := os.ReadDir(fds)
		for _, e := range entries {
			if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && target == path {
				return
			}
		}
	}
	t.Fatalf("process %d did not open %s within 10 s", pid, path)
}
