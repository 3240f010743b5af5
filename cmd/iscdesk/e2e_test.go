package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// wantStorage is where the binary keeps the activation: the real keyring
// inside `make test`'s private session, else the encrypted file.
func wantStorage() string {
	if testutil.RealKeyring() {
		return "keyring"
	}
	return "file"
}

type result struct {
	testutil.Result
	json licenseJSON
}

// runBin runs the binary; with --json among args its standard output must
// be the JSON object of activate and status.
func runBin(t testing.TB, bin string, env []string, args ...string) result {
	t.Helper()
	r := result{Result: testutil.Run(t, bin, env, args...)}
	if slices.Contains(args, "--json") {
		if err := json.Unmarshal([]byte(r.Stdout), &r.json); err != nil {
			t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, r.Stdout)
		}
	}
	return r
}

// TestEndToEnd runs the CLI against the whole chain on loopback: the
// marketplace sandbox (`iscdesk sandbox`), the vendor license server asking
// it, the desktop activating with the server: activation, status online and
// offline, the server going away, refusals, deactivate, forget.
func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	sb, srv := vendortest.WithSandboxProcess(t, bin, vendortest.Options{})
	env, _ := testutil.ProcessEnv(t)
	withServer := testutil.With(env, srv.Env()...)
	var outputs []string
	check := func(name string, r result, code int) result {
		t.Helper()
		outputs = append(outputs, r.Stdout, r.Stderr)
		if r.Code != code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.Code, code, r.Stdout, r.Stderr)
		}
		if code != 0 && (!strings.HasPrefix(r.Stderr, "iscdesk: ") || strings.Count(r.Stderr, "\n") != 1) {
			t.Errorf("%s: stderr is not one 'iscdesk:' line: %q", name, r.Stderr)
		}
		return r
	}

	code := sb.Codes["ready"][0]
	r := check("activate", runBin(t, bin, withServer, "activate", "--json", code), 0)
	if !r.json.Valid || r.json.Status != "ALIVE" || r.json.License != code || r.json.Source != "online" ||
		r.json.Storage != wantStorage() || r.json.ExpireTime == "" || r.json.ActivatedAt == "" || r.json.ProductID == "" {
		t.Fatalf("activate: %+v", r.json)
	}
	check("activate again (the same seat)", runBin(t, bin, withServer, "activate", code), 0)

	r = check("status", runBin(t, bin, withServer, "status", "--json"), 0)
	if !r.json.Valid || r.json.Source != "online" || len(r.json.FingerprintChanged) != 0 {
		t.Fatalf("status: %+v", r.json)
	}
	// --offline needs the pinned key only: no server, no network.
	keyOnly := testutil.With(env, "ISCDESK_SERVER_KEY="+srv.Key)
	r = check("status --offline", runBin(t, bin, keyOnly, "status", "--offline", "--json"), 0)
	if !r.json.Valid || r.json.Source != "cache" || r.json.Storage != wantStorage() {
		t.Fatalf("status --offline: %+v", r.json)
	}
	r = check("status (human)", runBin(t, bin, withServer, "status"), 0)
	if !strings.Contains(r.Stdout, srv.URL) || !strings.Contains(r.Stdout, "valid") {
		t.Errorf("status for people: %s", r.Stdout)
	}

	check("undelivered", runBin(t, bin, withServer, "activate", sb.Codes["undelivered"][0]), exitcode.NotUsable)
	check("unknown code", runBin(t, bin, withServer, "activate", "PLDOESNOTEXIST0000000000000000"), exitcode.NotUsable)
	r = check("malformed code", runBin(t, bin, withServer, "activate", "--json", "PL 1;x"), exitcode.Usage)
	if r.json.Valid || r.json.Reason == "" {
		t.Errorf("malformed code JSON: %+v", r.json)
	}
	r = check("no key pinned", runBin(t, bin, testutil.With(env, "ISCDESK_SERVER="+srv.URL), "activate", sb.Codes["ready"][1]), exitcode.Usage)
	if !strings.Contains(r.Stderr, "server_key") {
		t.Errorf("no key pinned: %s", r.Stderr)
	}
	r = check("another key pinned", runBin(t, bin, testutil.With(env, "ISCDESK_SERVER="+srv.URL, "ISCDESK_SERVER_KEY="+sb.ServerKey), "status", "--offline"), exitcode.NotUsable)
	if !strings.Contains(r.Stderr, "server_key") {
		t.Errorf("another key pinned: %s", r.Stderr)
	}

	// The server goes away: status falls back to the token; the seat
	// cannot be freed, and the activation stays.
	srv.Stop()
	r = check("status, server gone", runBin(t, bin, withServer, "status", "--json"), 0)
	if !r.json.Valid || r.json.Source != "cache" {
		t.Fatalf("status with the server gone: %+v", r.json)
	}
	r = check("deactivate, server gone", runBin(t, bin, withServer, "deactivate"), exitcode.Unreachable)
	if !strings.Contains(r.Stderr, "forget") {
		t.Errorf("deactivate with the server gone: %s", r.Stderr)
	}
	check("status after the failed deactivate", runBin(t, bin, keyOnly, "status", "--offline"), 0)

	check("forget", runBin(t, bin, env, "forget"), 0)
	r = check("status after forget", runBin(t, bin, keyOnly, "status", "--offline", "--json"), exitcode.NotUsable)
	if r.json.Valid || !strings.Contains(r.json.Reason, "activate") {
		t.Errorf("after forget: %+v", r.json)
	}

	for _, o := range outputs {
		if strings.Contains(o, sb.SK) || strings.Contains(o, sb.AK) {
			t.Fatalf("a credential appears in the output:\n%s", o)
		}
	}
}

// `iscdesk deactivate` frees the seat: another machine takes it (the
// server's record says so), and this one has nothing cached.
func TestDeactivateFreesTheSeat(t *testing.T) {
	bin := buildBinary(t)
	srv := vendortest.Start(t, vendortest.Options{})
	code := srv.Code(t, 1)
	env, _ := testutil.ProcessEnv(t)
	env = testutil.With(env, srv.Env()...)
	if r := runBin(t, bin, env, "activate", code); r.Code != 0 {
		t.Fatalf("activate: %s", r.Stderr)
	}
	r := runBin(t, bin, env, "deactivate")
	if r.Code != 0 || !strings.Contains(r.Stdout, code) {
		t.Fatalf("deactivate: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if info, err := srv.Service.CodeInfo(context.Background(), code); err != nil || info.Bound() != 0 {
		t.Fatalf("seats bound after deactivate: %d %v", info.Bound(), err)
	}
	if r := runBin(t, bin, env, "status", "--offline"); r.Code != exitcode.NotUsable {
		t.Fatalf("status after deactivate: exit %d %s", r.Code, r.Stderr)
	}
	if r := runBin(t, bin, env, "deactivate"); r.Code != exitcode.NotUsable {
		t.Fatalf("deactivate with nothing cached: exit %d %s", r.Code, r.Stderr)
	}
}

// TestAgentProcess runs `iscdesk agent` as a process: a program linking the
// SDK gets a device license from the license server that verifies with the
// vendor key, and saves a file to the cloud drive; a second agent finds the
// first.
func TestAgentProcess(t *testing.T) {
	bin := buildBinary(t)
	sb, srv := vendortest.WithSandboxProcess(t, bin, vendortest.Options{})
	env, home := testutil.ProcessEnv(t)
	env = testutil.With(env, srv.Env()...)
	if r := runBin(t, bin, env, "activate", sb.Codes["ready"][0]); r.Code != 0 {
		t.Fatalf("activate: %s", r.Stderr)
	}
	socket, stop := startAgent(t, bin, env)
	defer stop()

	if r := runBin(t, bin, env, "agent", "--socket", socket); r.Code != exitcode.Usage || !strings.Contains(r.Stderr, "already running") {
		t.Fatalf("second agent: exit %d, %q", r.Code, r.Stderr)
	}

	ctx, c := connectSDK(t, socket)
	// The agent issues device licenses for this machine's fingerprint only.
	dev := strings.TrimSpace(runBin(t, bin, env, "fingerprint").Stdout)
	token, err := c.GetLicenseString(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.VerifyDeviceLicense(token, srv.Public, dev, time.Now()); err != nil {
		t.Fatalf("device license: %v", err)
	}
	model := filepath.Join(home, "part.prt")
	if err := os.WriteFile(model, []byte("a part"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Save(ctx, model, false); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(home, "iscdesk-cloud", "part.prt")); err != nil || string(b) != "a part" {
		t.Fatalf("cloud drive: %q %v", b, err)
	}
}

// licensedDesk is this machine as a desktop with a license and a running
// program: a server (started with the test's options), a code of one seat
// activated through the binary, `iscdesk agent` serving, a program
// connected, and this machine's fingerprint.
type licensedDesk struct {
	srv  *vendortest.Server
	code string
	env  []string
	stop func() // kills the agent (SIGKILL)
	ctx  context.Context
	c    *sdk.Client
	dev  string
}

func startLicensedDesk(t *testing.T, bin string, o vendortest.Options) *licensedDesk {
	t.Helper()
	d := &licensedDesk{srv: vendortest.Start(t, o)}
	d.code = d.srv.Code(t, 1)
	env, _ := testutil.ProcessEnv(t)
	d.env = testutil.With(env, d.srv.Env()...)
	if r := runBin(t, bin, d.env, "activate", d.code); r.Code != 0 {
		t.Fatalf("activate: %s", r.Stderr)
	}
	var socket string
	socket, d.stop = startAgent(t, bin, d.env)
	d.ctx, d.c = connectSDK(t, socket)
	d.dev = strings.TrimSpace(runBin(t, bin, d.env, "fingerprint").Stdout)
	return d
}

// startAgent starts `iscdesk agent` on a socket of its own and waits until
// it listens.
func startAgent(t *testing.T, bin string, env []string) (socket string, stop func()) {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "isc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	socket = filepath.Join(sockDir, "a", "agent.sock")
	agentCmd := exec.Command(bin, "agent", "--socket", socket)
	agentCmd.Env = env
	out, err := agentCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "agent listening on ") {
		stop()
		t.Fatalf("agent printed %q, %v", line, err)
	}
	return socket, stop
}

// connectSDK connects a program linking the SDK to the agent at socket, for
// the rest of the test (30 s at most).
func connectSDK(t *testing.T, socket string) (context.Context, *sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("e2e", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c
}

// TestReleaseEndToEnd: the marketplace (the sandbox) releases a code (a
// refund) and calls the vendor server back; the desktop's next status says
// released (exit 3), and the vendor program's next license request through
// the agent is refused.
func TestReleaseEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	d := startLicensedDesk(t, bin, vendortest.Options{})
	defer d.stop()
	srv, code, env, ctx, c, dev := d.srv, d.code, d.env, d.ctx, d.c, d.dev
	if _, err := c.GetLicenseString(ctx, dev); err != nil {
		t.Fatalf("license before the release: %v", err)
	}

	id, err := srv.Sandbox.Release(code)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := srv.Sandbox.WaitCallback(ctx, id, 1)
	if err != nil || cb.State != "delivered" || cb.Result != "000000" {
		t.Fatalf("release callback: %+v %v", cb, err)
	}
	info, err := srv.Service.CodeInfo(ctx, code)
	if err != nil || info.Code.Status != "RELEASED" {
		t.Fatalf("the server's code after the callback: %+v %v", info.Code, err)
	}

	r := runBin(t, bin, env, "status", "--json")
	if r.Code != exitcode.NotUsable || r.json.Valid || r.json.Status != "RELEASED" {
		t.Fatalf("status after the release: exit %d %+v\n%s", r.Code, r.json, r.Stderr)
	}
	if _, err := c.GetLicenseString(ctx, dev); err == nil {
		t.Fatal("the agent issued a device license for a released code")
	} else if !strings.Contains(strings.ToLower(err.Error()), "released") {
		t.Errorf("refusal does not say released: %v", err)
	}
}

// A desktop killed while its program holds a floating lease: `iscdesk
// agent` renews the lease past its TTL while alive; after kill -9 nothing
// renews or returns it, and the seat goes to another machine once the TTL
// has passed (2 s here), not before.
func TestFloatingLeaseOfAKilledAgent(t *testing.T) {
	const ttl = 2 * time.Second
	bin := buildBinary(t)
	d := startLicensedDesk(t, bin, vendortest.Options{Config: server.Config{
		Default: server.Product{LicenseModel: server.ModelFloating}, LeaseTTL: ttl, HeartbeatInterval: 300 * time.Millisecond}})
	defer d.stop()
	srv, code, ctx, c, dev, kill := d.srv, d.code, d.ctx, d.c, d.dev, d.stop
	tok, err := c.GetLicenseString(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.VerifyDeviceLicense(tok, srv.Public, dev, time.Now()); err != nil {
		t.Fatalf("device license: %v", err)
	}

	// Another machine: refused while the agent renews, past the TTL.
	other := servertest.NewDevice(7)
	g, err := srv.Service.Activate(ctx, other.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	takeOther := func() error {
		_, err := srv.Service.TakeLease(ctx, server.LeaseRequest{Signed: other.Signed(g.Activation.ID, time.Now()), RequestID: servertest.Nonce()})
		return err
	}
	time.Sleep(ttl + 500*time.Millisecond)
	var r *server.Refusal
	if err := takeOther(); !errors.As(err, &r) || r.Reason != server.ReasonPoolFull || len(r.Holders) != 1 {
		t.Fatalf("while the agent renews: %v", err)
	}

	kill()
	killed := time.Now()
	for {
		err := takeOther()
		if err == nil {
			break
		}
		if !errors.As(err, &r) || r.Reason != server.ReasonPoolFull {
			t.Fatal(err)
		}
		if time.Since(killed) > ttl+3*time.Second {
			t.Fatalf("the killed agent's lease did not lapse: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Freed by the TTL, not by a return: not before the last renewal's end.
	if w := time.Since(killed); w < ttl-500*time.Millisecond {
		t.Fatalf("the seat was free %v after the kill: before the TTL %v", w, ttl)
	}
}
