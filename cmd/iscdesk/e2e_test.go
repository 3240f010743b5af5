package main

import (
	"bufio"
	"bytes"
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

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/sdk"
)

// sandboxProc is an `iscdesk sandbox` process on loopback.
type sandboxProc struct {
	cmd   *exec.Cmd
	url   string
	ak    string
	sk    string
	codes map[string][]string // state name -> codes
}

func startSandbox(t testing.TB, bin, state string) *sandboxProc {
	t.Helper()
	cmd := exec.Command(bin, "sandbox", "--addr", "127.0.0.1:0", "--state", state)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sb := &sandboxProc{cmd: cmd, codes: map[string][]string{}}
	lines := bufio.NewScanner(out)
	deadline := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, "listening on "):
			sb.url = strings.TrimPrefix(line, "listening on ")
		case strings.HasPrefix(line, "ak: "):
			sb.ak = strings.TrimPrefix(line, "ak: ")
		case strings.HasPrefix(line, "sk: "):
			sb.sk = strings.TrimPrefix(line, "sk: ")
		case strings.HasPrefix(line, "code: "):
			var code, state string
			f := strings.Fields(strings.TrimPrefix(line, "code: "))
			if len(f) == 2 {
				code, state = f[0], strings.Trim(f[1], "()")
			}
			sb.codes[state] = append(sb.codes[state], code)
		}
		if len(sb.codes["released"]) > 0 {
			break
		}
	}
	if sb.url == "" || sb.ak == "" || sb.sk == "" || len(sb.codes["ready"]) == 0 {
		t.Fatalf("sandbox printed: %+v", sb)
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
	return sb
}

// cliEnv is a private environment for the binary: its own config folder and,
// inside `make test`'s private D-Bus session, the real keyring; otherwise no
// session bus, so the encrypted file is used.
func cliEnv(t *testing.T) []string {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	if os.Getenv("ISCDESK_REAL_KEYRING") == "1" {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	}
	return env
}

func wantStorage() string {
	if os.Getenv("ISCDESK_REAL_KEYRING") == "1" {
		return "keyring"
	}
	return "file"
}

type result struct {
	code           int
	stdout, stderr string
	json           licenseJSON
}

func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(args, " "), "--json") {
		if err := json.Unmarshal(out.Bytes(), &r.json); err != nil {
			t.Fatalf("%v: stdout is not JSON: %v\n%s", args, err, out.String())
		}
	}
	return r
}

// TestEndToEnd runs the CLI against the sandbox on loopback: activation,
// status online and offline, the sandbox going away, refusals, forget.
func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	sb := startSandbox(t, bin, filepath.Join(t.TempDir(), "sandbox.json"))
	env := cliEnv(t)
	withKeys := append(env[:len(env):len(env)], "ISCDESK_AK="+sb.ak, "ISCDESK_SK="+sb.sk, "ISCDESK_ENDPOINT="+sb.url)
	var outputs []string
	check := func(name string, r result, code int) result {
		t.Helper()
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.code, code, r.stdout, r.stderr)
		}
		if code != 0 && (!strings.HasPrefix(r.stderr, "iscdesk: ") || strings.Count(r.stderr, "\n") != 1) {
			t.Errorf("%s: stderr is not one 'iscdesk:' line: %q", name, r.stderr)
		}
		return r
	}

	code := sb.codes["ready"][0]
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
	if !r.json.Valid || r.json.Source != "cache" {
		t.Fatalf("status --offline: %+v", r.json)
	}
	check("status (human)", runBin(t, bin, withKeys, "status"), 0)

	check("undelivered", runBin(t, bin, withKeys, "activate", sb.codes["undelivered"][0]), exitNotUsable)
	check("unknown code", runBin(t, bin, withKeys, "activate", "PLDOESNOTEXIST0000000000000000"), exitNotUsable)
	r = check("malformed code", runBin(t, bin, withKeys, "activate", "--json", "PL 1;x"), exitUsage)
	if r.json.Valid || r.json.Reason == "" {
		t.Errorf("malformed code JSON: %+v", r.json)
	}
	wrongSK := append(env[:len(env):len(env)], "ISCDESK_AK="+sb.ak, "ISCDESK_SK=not-the-secret", "ISCDESK_ENDPOINT="+sb.url)
	check("wrong secret key", runBin(t, bin, wrongSK, "activate", sb.codes["ready"][1]), exitCredentials)
	noKeys := append(env[:len(env):len(env)], "ISCDESK_ENDPOINT="+sb.url)
	check("no credentials", runBin(t, bin, noKeys, "activate", sb.codes["ready"][1]), exitCredentials)

	// The sandbox goes away: status falls back to the cache.
	_ = sb.cmd.Process.Kill()
	_ = sb.cmd.Wait()
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
		if strings.Contains(o, sb.sk) || strings.Contains(o, "not-the-secret") || strings.Contains(o, sb.ak) {
			t.Fatalf("a credential appears in the output:\n%s", o)
		}
	}
}

// BenchmarkStatusOfflineProcess runs `iscdesk status --offline` as a whole
// process against an activated authorization (in the keyring inside `make
// bench`'s private session, else in the encrypted file) and reports the
// median wall time.
func BenchmarkStatusOfflineProcess(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	sb := startSandbox(b, bin, filepath.Join(dir, "sandbox.json"))
	defer func() { _ = sb.cmd.Process.Kill(); _ = sb.cmd.Wait() }()
	env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"), "PATH=" + os.Getenv("PATH")}
	if os.Getenv("ISCDESK_REAL_KEYRING") == "1" {
		env = append(env, "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	}
	act := exec.Command(bin, "activate", sb.codes["ready"][0])
	act.Env = append(env[:len(env):len(env)], "ISCDESK_AK="+sb.ak, "ISCDESK_SK="+sb.sk, "ISCDESK_ENDPOINT="+sb.url)
	if out, err := act.CombinedOutput(); err != nil {
		b.Fatalf("activate: %v\n%s", err, out)
	}
	var times []time.Duration
	for b.Loop() {
		cmd := exec.Command(bin, "status", "--offline")
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("status: %v\n%s", err, out)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}

// TestAgentProcess runs `iscdesk agent` as a process: a program linking the
// SDK gets a device license that verifies with the sandbox's vendor key, and
// saves a file to the cloud drive; a second agent finds the first.
func TestAgentProcess(t *testing.T) {
	bin := buildBinary(t)
	sb := startSandbox(t, bin, filepath.Join(t.TempDir(), "sandbox.json"))
	env := append(cliEnv(t), "ISCDESK_AK="+sb.ak, "ISCDESK_SK="+sb.sk, "ISCDESK_ENDPOINT="+sb.url)
	home := strings.TrimPrefix(env[0], "HOME=")
	if r := runBin(t, bin, env, "activate", sb.codes["ready"][0]); r.code != 0 {
		t.Fatalf("activate: %s", r.stderr)
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

	if r := runBin(t, bin, env, "agent", "--socket", socket); r.code != exitUsage || !strings.Contains(r.stderr, "already running") {
		t.Fatalf("second agent: exit %d, %q", r.code, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("e2e", "1.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const dev = "02:00:00:00:00:01|DISK-1||BFEBFBFF000906EA"
	token, err := c.GetLicenseString(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := marketplace.New(marketplace.Config{Endpoint: sb.url, Credentials: aksk.Credentials{AK: sb.ak, SK: sb.sk}})
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
