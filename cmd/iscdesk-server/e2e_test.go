package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

func TestMain(m *testing.M) { testutil.Main(m) }

var ctx = context.Background()

func binary(t testing.TB) string {
	return testutil.Binary(t, "./cmd/iscdesk-server", testutil.Build{Env: []string{"CGO_ENABLED=0"}})
}

// marketplace is the sandbox, in process, on loopback.
func marketplace(t testing.TB) (*sandbox.Server, string) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	return sb, ts.URL
}

// initDir runs init and returns the folder and the vendor key it printed.
func initDir(t testing.TB, bin string) (string, string) {
	dir := filepath.Join(t.TempDir(), "srv")
	r := testutil.Run(t, bin, nil, "init", "--dir", dir)
	key, ok := strings.CutPrefix(strings.TrimSpace(r.Stdout), "vendor key: ")
	if r.Code != 0 || !ok {
		t.Fatalf("init: %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	return dir, key
}

// editConfig changes keys of config.json.
func editConfig(t testing.TB, dir string, set map[string]any) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

type serverProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *testutil.LockedBuffer
	done   chan error
}

// startServer runs serve with the sandbox's AK/SK and the marketplace
// callback key servertest.CallbackKey in its environment, and env.
func startServer(t testing.TB, bin, dir, mkt string, sb *sandbox.Server, env ...string) *serverProc {
	t.Helper()
	cred := sb.Credentials()
	cmd := exec.Command(bin, "serve", "--dir", dir, "--addr", "127.0.0.1:0", "--marketplace", mkt)
	cmd.Env = append(append(os.Environ(), "ISCDESK_AK="+cred.AK, "ISCDESK_SK="+cred.SK,
		"ISCDESK_CALLBACK_KEY="+servertest.CallbackKey), env...)
	p := &serverProc{cmd: cmd, stderr: &testutil.LockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("first line %q; stderr:\n%s", line, p.stderr)
		}
		p.url = url
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start; stderr:\n%s", p.stderr)
	}
	return p
}

// stop sends SIGTERM and wants exit 0.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
}

func activate(c *client.Client, d *servertest.Device, code string) (wire.ActivateAnswer, error) {
	return c.Activate(ctx, wire.ActivateRequest{Code: code, Fingerprint: d.Fingerprint, DeviceKey: client.DeviceKeyText(d.Public()),
		Host: d.Host, App: "demo", Version: "1.0", RequestID: servertest.Nonce()})
}

func reason(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// The built binary against the sandbox marketplace: activate, check, a
// third device refused on a 2-seat code, deactivate, revoke from the CLI.
func TestServeEndToEnd(t *testing.T) {
	bin := binary(t)
	sb, mkt := marketplace(t)
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir, vendorKey := initDir(t, bin)
	srv := startServer(t, bin, dir, mkt, sb)
	c := &client.Client{BaseURL: srv.url}
	pub, err := token.ParsePublicKey(vendorKey)
	if err != nil {
		t.Fatal(err)
	}
	a, b, third := servertest.NewDevice(1), servertest.NewDevice(2), servertest.NewDevice(3)

	ga, err := activate(c, a, code)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := activation.Verify(ga.Token, activation.Pinned(pub), time.Now())
	if err != nil {
		t.Fatalf("token against the key init printed: %v", err)
	}
	if _, err := cl.Bound(mustParse(t, a.Fingerprint), a.Public()); err != nil {
		t.Fatal(err)
	}
	gb, err := activate(c, b, code)
	if err != nil {
		t.Fatal(err)
	}
	_, err = activate(c, third, code)
	var ae *client.APIError
	if !errs.Is(err, errs.NotActivated) || !errors.As(err, &ae) || ae.Reason != wire.ReasonSeatsFull || len(ae.Holders) != 2 ||
		!strings.Contains(ae.Message, "host-001") || !strings.Contains(ae.Message, "host-002") {
		t.Fatalf("third device on a 2-seat code: %v", err)
	}
	if _, err := c.Check(ctx, ga.ActivationID, a.Key, a.Fingerprint); err != nil {
		t.Fatalf("check: %v", err)
	}
	if lic, err := c.DeviceLicense(ctx, ga.ActivationID, a.Key, a.Fingerprint, time.Time{}); err != nil {
		t.Fatal(err)
	} else if _, err := token.Verify(lic, pub, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.Deactivate(ctx, gb.ActivationID, b.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := activate(c, third, code); err != nil {
		t.Fatalf("third device after a deactivation: %v", err)
	}
	if _, err := c.Check(ctx, gb.ActivationID, b.Key, ""); reason(err) != wire.ReasonDeactivated {
		t.Fatalf("check after deactivate: %v", err)
	}

	// The support desk, beside the running server (same SQLite file).
	r := testutil.Run(t, bin, nil, "activations", "revoke", ga.ActivationID, "--dir", dir, "--note", "ticket 7")
	if r.Code != 0 {
		t.Fatalf("revoke: %d %s", r.Code, r.Stderr)
	}
	if _, err := c.Check(ctx, ga.ActivationID, a.Key, ""); reason(err) != wire.ReasonRevoked || !strings.Contains(err.Error(), "ticket 7") {
		t.Fatalf("check after revoke: %v", err)
	}
	r = testutil.Run(t, bin, nil, "codes", "show", code, "--dir", dir, "--json")
	var shown struct {
		Seats, Bound int
		Activations  []struct{ State string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &shown); err != nil || r.Code != 0 {
		t.Fatalf("codes show: %d %v %s", r.Code, err, r.Stderr)
	}
	if shown.Seats != 2 || shown.Bound != 1 || len(shown.Activations) != 3 {
		t.Fatalf("codes show: %+v", shown)
	}
	r = testutil.Run(t, bin, nil, "activations", "list", "--code", code, "--dir", dir, "--json")
	if r.Code != 0 || strings.Count(r.Stdout, `"id"`) != 3 {
		t.Fatalf("activations list: %d %s", r.Code, r.Stdout)
	}
	if r := testutil.Run(t, bin, nil, "activations", "show", "act_nope", "--dir", dir); r.Code != 3 ||
		!strings.HasPrefix(r.Stderr, "iscdesk-server: ") {
		t.Fatalf("show of an unknown activation: %d %q", r.Code, r.Stderr)
	}
	if keys, err := c.Keys(ctx); err != nil || len(keys) != 1 || keys[0].PublicKey != vendorKey {
		t.Fatalf("keys %+v %v", keys, err)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(srv.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	srv.stop(t)
	logs := srv.stderr.String()
	if strings.Contains(logs, code) || strings.Contains(logs, sb.Credentials().SK) || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("server log holds a secret or lacks the stop:\n%s", logs)
	}
}

func mustParse(t *testing.T, fp string) devinfo.Components {
	t.Helper()
	c, err := devinfo.Parse(fp)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCommandLine(t *testing.T) {
	bin := binary(t)
	dir, _ := initDir(t, bin)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"keys", "show", "--help"}, 0, "Usage: iscdesk-server keys show"},
		{[]string{"frobnicate"}, 2, ""},
		{[]string{"init", "--dir", dir}, 2, ""},
		{[]string{"serve", "--dir", dir}, 5, ""}, // no AK/SK
		{[]string{"serve", "--dir", dir, "--addr", "0.0.0.0:0"}, 5, ""},
		{[]string{"migrate", "--dir", dir}, 0, "schema version"},
		{[]string{"codes", "list", "--dir", dir, "--json"}, 0, "[]"},
		{[]string{"keys", "show", "--dir", dir}, 0, "vendor key: "},
		{[]string{"keys", "rotate", "--dir", dir, "--overlap", "1h"}, 0, "stays valid for 1h0m0s"},
		{[]string{"migrate", "--dir", dir, "--db", "mysql://x"}, 2, ""},
	} {
		r := testutil.Run(t, bin, nil, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stdout, tc.out) {
			t.Errorf("%v: exit %d (want %d)\n%s%s", tc.args, r.Code, tc.code, r.Stdout, r.Stderr)
		}
		if r.Code != 0 && (strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "iscdesk-server: ")) {
			t.Errorf("%v: stderr is not one iscdesk-server: line: %q", tc.args, r.Stderr)
		}
	}
	r := testutil.Run(t, bin, []string{"ISCDESK_AK=a", "ISCDESK_SK=b"}, "serve", "--dir", dir, "--addr", "0.0.0.0:0")
	if r.Code != 2 || !strings.Contains(r.Stderr, "behind_proxy") {
		t.Errorf("plain HTTP off loopback: %d %s", r.Code, r.Stderr)
	}
	if r := testutil.Run(t, bin, nil, "keys", "show", "--dir", dir, "--json"); strings.Count(r.Stdout, `"kid"`) != 2 {
		t.Errorf("after a rotation two keys are published: %s", r.Stdout)
	}
}

// Two server processes on one real PostgreSQL, 200 distinct devices
// activating one 10-seat code at once through them: exactly 10 bound.
func TestTwoServersOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	pg := testutil.StartPostgres(t)
	bin := binary(t)
	sb, mkt := marketplace(t)
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 10})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := initDir(t, bin)
	editConfig(t, dir, map[string]any{"db": pg.NewDatabase(t), "limits": map[string]any{
		"per_addr_per_second": 100000, "per_addr_burst": 100000, "activate_per_addr_per_minute": 1e6,
		"activate_per_addr_burst": 100000, "activate_per_code_per_minute": 1e6, "activate_per_code_burst": 100000,
	}})
	servers := []*serverProc{startServer(t, bin, dir, mkt, sb), startServer(t, bin, dir, mkt, sb)}
	const devices, seats = 200, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	bound, full := 0, 0
	startGun := make(chan struct{})
	for i := range devices {
		c := &client.Client{BaseURL: servers[i%2].url}
		d := servertest.NewDevice(i)
		wg.Go(func() {
			<-startGun
			_, err := activate(c, d, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				bound++
			case reason(err) == wire.ReasonSeatsFull:
				full++
			default:
				t.Errorf("device %d: %v", i, err)
			}
		})
	}
	began := time.Now()
	close(startGun)
	wg.Wait()
	t.Logf("%d activations through 2 servers on PostgreSQL in %v", devices, time.Since(began))
	if bound != seats || full != devices-seats {
		t.Fatalf("%d bound, %d refused as full; want %d and %d", bound, full, seats, devices-seats)
	}
	r := testutil.Run(t, bin, nil, "codes", "show", code, "--dir", dir, "--json")
	if !strings.Contains(r.Stdout, `"bound": 10`) {
		t.Fatalf("codes show: %s %s", r.Stdout, r.Stderr)
	}
	for _, s := range servers {
		s.stop(t)
	}
}
