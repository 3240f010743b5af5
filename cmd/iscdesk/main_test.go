package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t testing.TB, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(k string) string { return env[k] }}
	code = run(context.Background(), args, io)
	return code, out.String(), errb.String()
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, _ := runCLI(t, nil, "", args...); code != 0 || !strings.Contains(out, "Usage: iscdesk") {
			t.Errorf("%v: code %d, out %q", args, code, out)
		}
	}
	for _, c := range commands() {
		code, out, errOut := runCLI(t, nil, "", c.name, "--help")
		if code != 0 || !strings.HasPrefix(out, "Usage: iscdesk "+c.name) || errOut != "" {
			t.Errorf("%s --help: code %d, out %q, err %q", c.name, code, out, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nosuchcommand"}, {"fingerprint", "--bogus"}, {"fingerprint", "extra"},
		{"fingerprint", "--sysroot", "/nonexistent/dir"}, {"version", "x"}} {
		code, out, errOut := runCLI(t, nil, "", args...)
		if code != exitcode.Usage || out != "" || !strings.HasPrefix(errOut, "iscdesk: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: code %d, out %q, err %q", args, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := runCLI(t, nil, "", "version"); code != 0 || !strings.HasPrefix(out, "iscdesk ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// --sysroot reads a fake tree: everything but the CPU (which is this
// machine's) matches the package's golden file.
func TestFingerprintSysroot(t *testing.T) {
	for _, tree := range []string{"workstation", "vm", "container", "server", "manynics"} {
		dir := filepath.Join("..", "..", "fingerprint", "testdata", tree)
		var golden struct {
			Fingerprint string `json:"fingerprint"`
		}
		b, err := os.ReadFile(dir + ".golden.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &golden); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, nil, "", "fingerprint", "--sysroot", dir)
		got := strings.TrimSuffix(out, "\n")
		if code != 0 || errOut != "" || withoutCPU(got) != withoutCPU(golden.Fingerprint) {
			t.Errorf("%s: code %d err %q\n got %s\nwant %s", tree, code, errOut, got, golden.Fingerprint)
		}
	}
}

func withoutCPU(fp string) string { return fp[:strings.LastIndexByte(fp, '|')] }

func TestFingerprintJSONContract(t *testing.T) {
	code, out, _ := runCLI(t, nil, "", "fingerprint", "--json", "--sysroot", "../../fingerprint/testdata/workstation")
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"bytes", "components", "fingerprint", "truncated"}) {
		t.Errorf("keys %v", keys)
	}
	comp, _ := m["components"].(map[string]any)
	for _, k := range []string{"mac", "disk", "board", "cpu"} {
		if _, ok := comp[k]; !ok {
			t.Errorf("components.%s missing in %s", k, out)
		}
	}
	if int(m["bytes"].(float64)) != len(m["fingerprint"].(string)) {
		t.Errorf("bytes %v for %q", m["bytes"], m["fingerprint"])
	}
}

func TestFingerprintStableAcrossProcesses(t *testing.T) {
	bin := buildBinary(t)
	var first string
	for i := range 3 {
		out, err := exec.Command(bin, "fingerprint").Output()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = string(out)
		} else if string(out) != first {
			t.Fatalf("run %d: %q, first run %q", i, out, first)
		}
	}
	if strings.Count(first, "|") != 3 {
		t.Errorf("not a fingerprint: %q", first)
	}
}

// buildBinary builds the iscdesk binary as it ships, without cgo (a static
// binary), once per test process.
func buildBinary(t testing.TB) string {
	t.Helper()
	return testutil.Binary(t, "./cmd/iscdesk", testutil.Build{Env: []string{"CGO_ENABLED=0"}})
}

func TestMain(m *testing.M) { testutil.Main(m) }
