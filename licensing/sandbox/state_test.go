package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

var (
	akPattern   = regexp.MustCompile(`^[A-Z0-9]{20}$`)
	skPattern   = regexp.MustCompile(`^[A-Za-z0-9]{40}$`)
	codePattern = regexp.MustCompile(`^PL[0-9A-F]{30}$`)
)

// A fresh sandbox has random credentials and one code per state.
func TestFirstStart(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	cred := e.srv.Credentials()
	if !akPattern.MatchString(cred.AK) || !skPattern.MatchString(cred.SK) {
		t.Errorf("credentials %q / %d chars do not look right", cred.AK, len(cred.SK))
	}
	var states []string
	for _, c := range e.srv.Codes() {
		if !codePattern.MatchString(c.Code) {
			t.Errorf("code %q", c.Code)
		}
		states = append(states, c.State)
	}
	want := []string{sandbox.StateReady, sandbox.StateReady, sandbox.StateActive,
		sandbox.StateUndelivered, sandbox.StateExpired, sandbox.StateReleased}
	if !slices.Equal(states, want) {
		t.Errorf("states = %v, want %v", states, want)
	}
	other := newEnv(t, sandbox.Config{})
	if other.srv.Credentials() == cred || other.srv.Codes()[0] == e.srv.Codes()[0] {
		t.Error("two sandboxes share credentials or codes")
	}
}

// Everything survives a restart: credentials, activations, usage.
func TestStatePersists(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	code := e.code(sandbox.StateReady, 0)
	e.post(wire.PathActivate, licenseBody(code))
	e.post(wire.PathUsage, usageBody(code))

	again, err := sandbox.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if again.Credentials() != e.srv.Credentials() {
		t.Error("credentials changed across a reopen")
	}
	if !slices.Equal(again.Codes(), e.srv.Codes()) {
		t.Errorf("codes = %v, want %v", again.Codes(), e.srv.Codes())
	}
	lic, ok := again.Lookup(code)
	if before, _ := e.srv.Lookup(code); !ok || !lic.ActivateTime.Equal(t0) || !lic.ExpireTime.Equal(before.ExpireTime) {
		t.Errorf("Lookup after reopen = %+v", lic)
	}
	if u := again.Usage(); len(u) != 1 || u[0].License != code {
		t.Errorf("usage after reopen = %+v", u)
	}
}

func TestCorruptStateRefused(t *testing.T) {
	for _, content := range []string{
		"{",
		"",
		`{"version":1,"ak":"A","sk":""}`,
		`{"version":9,"ak":"A","sk":"S"}`,
		`{"version":1,"ak":"A","sk":"S","codes":[{"code":"PL1","status":"ALIVE"},{"code":"PL1","status":"ALIVE"}]}`,
		`{"version":1,"ak":"A","sk":"S","codes":[{"code":"PL1","status":"SLEEPING"}]}`,
		`{"version":1,"ak":"A","sk":"S","vendor_url":"ftp://x"}`,
		`{"version":1,"ak":"A","sk":"S","callbacks":[{"id":"CB1","body":{},"state":"lost"}]}`,
		`{"version":1,"ak":"A","sk":"S","callbacks":[{"id":"","body":{},"state":"pending"}]}`,
		`{"version":1,"ak":"A","sk":"S","fail_uploads":-1}`,
	} {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := sandbox.Open(path)
		if !errors.Is(err, sandbox.ErrCorruptState) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: err = %v, want ErrCorruptState naming the file", content, err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%q: file overwritten with %q", content, got)
		}
	}
}

// The state file holds the SK: 0600, replaced atomically, no temp files left.
func TestStateFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	e := newEnv(t, sandbox.Config{})
	check := func() {
		t.Helper()
		fi, err := os.Stat(e.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		entries, _ := os.ReadDir(filepath.Dir(e.path))
		if len(entries) != 1 {
			t.Errorf("folder holds %v", entries)
		}
	}
	check()
	e.post(wire.PathActivate, licenseBody(e.code(sandbox.StateReady, 0)))
	check()
}

// A state file in a folder that does not exist yet is created there.
func TestStateFolderCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "state.json")
	if _, err := sandbox.Open(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// A failed save refuses the change and keeps memory as it was.
func TestSaveFailureIsTransient(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	// With a file where its folder was, the state cannot be saved, even by
	// root.
	dir := filepath.Dir(e.path)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code := e.code(sandbox.StateReady, 0)
	if got := e.post(wire.PathActivate, licenseBody(code)); got.env.ErrorCode != wire.CodeInternal {
		t.Errorf("activate without a state folder: %s", got.raw)
	}
	if lic, _ := e.srv.Lookup(code); !lic.ActivateTime.IsZero() {
		t.Error("activation kept in memory though not saved")
	}
	if err := e.srv.SetStatus(code, licensing.StatusExpired); err == nil {
		t.Errorf("SetStatus without a state folder: %v", err)
	}
	if e.code(sandbox.StateReady, 0) != code {
		t.Error("status kept in memory though not saved")
	}
}

// A state file from before callbacks gets a callback key and an admin token
// at its first start, saved at once: the vendor configures that key, so it
// must not change at the next start.
func TestStateGetsCallbackKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	old := `{"version":1,"ak":"AK1","sk":"SK1","codes":[]}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	key := srv.CallbackKey()
	if len(key) != 32 || srv.Credentials().SK != "SK1" {
		t.Fatalf("callback key %d characters", len(key))
	}
	again, err := sandbox.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if again.CallbackKey() != key {
		t.Fatal("callback key changed across a restart")
	}
	if _, err := sandbox.AdminFor(path, "http://127.0.0.1:1"); err != nil {
		t.Fatalf("no admin token saved: %v", err)
	}
}
