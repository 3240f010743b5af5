package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/sdk"
)

// wantStorage is where the binary keeps the authorization: the real keyring
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

// TestEndToEnd runs the CLI against the sandbox on loopback: activation,
// status online and offline, the sandbox going away, refusals, forget.
func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	sb := testutil.StartSandbox(t, bin, filepath.Join(t.TempDir(), "sandbox.json"))
	env, _ := testutil.ProcessEnv(t)
	withKeys := testutil.With(env, sb.Keys()...)
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
	r := check("activate", runBin(t, bin, withKeys, "activate", "--json", code), 0)
	if !r.json.Valid || r.json.Status != "ALIVE" || r.json.License != code || r.json.Source != "online" ||
		r.json.Storage != wantStorage() || r.json.ExpireTime == "" || r.json.ActivatedAt == "" || r.json.ProductID == "" {
		t.Fatalf("activate: %+v", r.json)
	}
	check("activate again (idempotent)", runBin(t, bin, withKeys, "activate", code), 0)

	r = check("status", runBin(t, bin, withKeys, "status", "--json"), 0)
	if !r.json.Valid || r.json.Source != "online" || len(r.json.FingerprintChanged) != 0 {
		t.Fatalf("status: %+v", r.json)
	}
	// --offline needs no credentials and no marketplace.
	r = check("status --offline", runBin(t, bin, env, "status", "--offline", "--json"), 0)
	if !r.json.Valid || r.json.Source != "cache" || r.json.Storage != wantStorage() {
		t.Fatalf("status --offline: %+v", r.json)
	}
	check("status (human)", runBin(t, bin, withKeys, "status"), 0)

	check("undelivered", runBin(t, bin, withKeys, "activate", sb.Codes["undelivered"][0]), exitNotUsable)
	check("unknown code", runBin(t, bin, withKeys, "activate", "PLDOESNOTEXIST0000000000000000"), exitNotUsable)
	r = check("malformed code", runBin(t, bin, withKeys, "activate", "--json", "PL 1;x"), exitUsage)
	if r.json.Valid || r.json.Reason == "" {
		t.Errorf("malformed code JSON: %+v", r.json)
	}
	wrongSK := testutil.With(env, "ISCDESK_AK="+sb.AK, "ISCDESK_SK=not-the-secret", "ISCDESK_ENDPOINT="+sb.URL)
	check("wrong secret key", runBin(t, bin, wrongSK, "activate", sb.Codes["ready"][1]), exitCredentials)
	noKeys := testutil.With(env, "ISCDESK_ENDPOINT="+sb.URL)
	check("no credentials", runBin(t, bin, noKeys, "activate", sb.Codes["ready"][1]), exitCredentials)

	// The sandbox goes away: status falls back to the cache.
	sb.Stop()
	r = check("status, marketplace gone", runBin(t, bin, withKeys, "status", "--json"), 0)
	if !r.json.Valid || r.json.Source != "cache" {
		t.Fatalf("status with the marketplace gone: %+v", r.json)
	}

	check("forget", runBin(t, bin, env, "forget"), 0)
	r = check("status after forget", runBin(t, bin, env, "status", "--offline", "--json"), exitNotUsable)
	if r.json.Valid || !strings.Contains(r.json.Reason, "activate") {
		t.Errorf("after forget: %+v", r.json)
	}

	for _, o := range outputs {
		if strings.Contains(o, sb.SK) || strings.Contains(o, "not-the-secret") || strings.Contains(o, sb.AK) {
			t.Fatalf("a credential appears in the output:\n%s", o)
		}
	}
}

// TestAgentProcess runs `iscdesk agent` as a process: a program linking the
// SDK gets a device license that verifies with the sandbox's vendor key, and
// saves a file to the cloud drive; a second agent finds the first.
func TestAgentProcess(t *testing.T) {
	bin := buildBinary(t)
	sb := testutil.StartSandbox(t, bin, filepath.Join(t.TempDir(), "sandbox.json"))
	env, home := testutil.ProcessEnv(t)
	env = testutil.With(env, sb.Keys()...)
	if r := runBin(t, bin, env, "activate", sb.Codes["ready"][0]); r.Code != 0 {
		t.Fatalf("activate: %s", r.Stderr)
	}
	sockDir, err := os.MkdirTemp("", "isc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	socket := filepath.Join(sockDir, "a", "agent.sock")

	agentCmd := exec.Command(bin, "agent", "--socket", socket)
	agentCmd.Env = env
	out, err := agentCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "agent listening on ") {
		t.Fatalf("agent printed %q, %v", line, err)
	}

	if r := runBin(t, bin, env, "agent", "--socket", socket); r.Code != exitUsage || !strings.Contains(r.Stderr, "already running") {
		t.Fatalf("second agent: exit %d, %q", r.Code, r.Stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("e2e", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The agent issues device licenses for this machine's fingerprint only.
	dev := strings.TrimSpace(runBin(t, bin, env, "fingerprint").Stdout)
	token, err := c.GetLicenseString(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := marketplace.New(marketplace.Config{Endpoint: sb.URL, Credentials: aksk.Credentials{AK: sb.AK, SK: sb.SK}})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := mc.VendorKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.VerifyDeviceLicense(token, pub, dev, time.Now()); err != nil {
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
