package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// machineCLI runs the CLI in-process with a machine-wide file holding
// machine (JSON; "" for none), a user's file in a temporary folder, an
// in-memory keyring and env as the whole environment.
func machineCLI(t *testing.T, machine string, env map[string]string, stdin string, args ...string) (code int, stdout, stderr, machinePath string) {
	t.Helper()
	dir := t.TempDir()
	paths := config.Paths{Machine: filepath.Join(dir, "etc", "config.json"), User: filepath.Join(dir, "user", "config.json")}
	if machine != "" {
		if err := os.MkdirAll(filepath.Dir(paths.Machine), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(paths.Machine, []byte(machine), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	io := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(k string) string { return env[k] },
		paths: &paths, secrets: &secret.Memory{}, machineID: func() (string, error) { return "test-machine", nil }}
	// Bounded, so that a command the lock fails to stop (an agent) ends.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code = run(ctx, args, io)
	return code, out.String(), errb.String(), paths.Machine
}

var (
	vendorKey = base64.StdEncoding.EncodeToString(make([]byte, 32))
	otherKey  = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
)

// lockedMachine is a machine-wide file fixing every setting a flag or the
// environment can set today: the license server (where nothing listens)
// and its key.
func lockedMachine(server string) string {
	return `{"server":"` + server + `","server_key":"` + vendorKey + `"}`
}

// A flag or an environment variable over a setting the machine-wide file
// fixes is refused with exit 7 and one line naming the setting, what tried
// and the file, before anything else happens: a user cannot point status
// at a license server of their own to make it say valid.
func TestLockedSettingsRefuseFlagsAndEnvironment(t *testing.T) {
	fixed := "http://" + testutil.ClosedAddr(t)  // the administrator's server, down
	theirs := "http://" + testutil.ClosedAddr(t) // where the user's own server would listen
	for _, c := range []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		setting string // "" when the lock is not in the way
		by      string
	}{
		{"status with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"status"}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"status --offline with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"status", "--offline", "--json"}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"activate with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"activate", "PLTEST0001"}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"deactivate with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"deactivate"}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"agent with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"agent", "--socket", filepath.Join(t.TempDir(), "a.sock")}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"app install with ISCDESK_SERVER", map[string]string{"ISCDESK_SERVER": theirs}, []string{"app", "install", filepath.Join(t.TempDir(), "none.tar.gz")}, exitcode.Refused, "server", "ISCDESK_SERVER"},
		{"status with ISCDESK_SERVER_KEY", map[string]string{"ISCDESK_SERVER_KEY": otherKey}, []string{"status", "--offline"}, exitcode.Refused, "server_key", "ISCDESK_SERVER_KEY"},
		{"activate --server", nil, []string{"activate", "--server", theirs, "PLTEST0001"}, exitcode.Refused, "server", "--server"},
		{"activate --server=", nil, []string{"activate", "PLTEST0001", "--server=" + theirs}, exitcode.Refused, "server", "--server"},
		// The administrator's own values pass the lock: nothing cached,
		// and the server does not answer.
		{"the same server in the environment", map[string]string{"ISCDESK_SERVER": fixed, "ISCDESK_SERVER_KEY": vendorKey}, []string{"status", "--offline"}, exitcode.NotUsable, "", ""},
		{"the same server as a flag", nil, []string{"activate", "--server", fixed, "PLTEST0001"}, exitcode.Unreachable, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr, file := machineCLI(t, lockedMachine(fixed), c.env, "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "iscdesk: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one 'iscdesk:' line: %q", stderr)
			}
			if c.setting == "" {
				return
			}
			for _, want := range []string{"setting " + c.setting, c.by, file, "locked"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not name %q: %s", want, stderr)
				}
			}
			if strings.Contains(strings.Join(c.args, " "), "--json") {
				var j licenseJSON
				if err := json.Unmarshal([]byte(stdout), &j); err != nil || j.Valid || !strings.Contains(j.Reason, "locked") {
					t.Errorf("JSON %q: %v", stdout, err)
				}
			}
		})
	}
	// Without the machine-wide file, both apply as before.
	if code, _, stderr, _ := machineCLI(t, "", map[string]string{"ISCDESK_SERVER": theirs, "ISCDESK_SERVER_KEY": otherKey}, "", "status", "--offline"); code != exitcode.NotUsable {
		t.Errorf("unlocked: exit %d, %s", code, stderr)
	}
}

// Every flag of every command that sets a setting (its name is the
// setting's, with "-" for "_") is refused over a locked setting: a new
// flag cannot forget the check.
func TestEveryFlagOverALockedSettingIsRefused(t *testing.T) {
	settings := map[string]bool{}
	for f := range reflect.TypeFor[config.Config]().Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			settings[name] = true
		}
	}
	// A value the machine-wide file fixes, another one, and the arguments a
	// command needs besides.
	samples := map[string]struct{ machine, other string }{
		"server":     {`{"server":"https://license.example.com"}`, "https://other.example.com"},
		"server_key": {`{"server_key":"` + vendorKey + `"}`, otherKey},
	}
	positional := map[string][]string{"activate": {"PLTEST0001"}}
	found := 0
	for _, cmd := range commands() {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.setup(fs, &stdio{getenv: func(string) string { return "" }})
		fs.VisitAll(func(f *flag.Flag) {
			key := strings.ReplaceAll(f.Name, "-", "_")
			if !settings[key] {
				return
			}
			found++
			s, ok := samples[key]
			if !ok {
				t.Errorf("%s --%s sets %s: add a sample for it here", cmd.name, f.Name, key)
				return
			}
			args := append([]string{cmd.name, "--" + f.Name, s.other}, positional[cmd.name]...)
			if code, _, stderr, _ := machineCLI(t, s.machine, nil, "", args...); code != exitcode.Refused || !strings.Contains(stderr, "--"+f.Name) {
				t.Errorf("iscdesk %s: exit %d, %s", strings.Join(args, " "), code, stderr)
			}
		})
	}
	if found == 0 {
		t.Fatal("no flag sets a setting: is activate --server gone?")
	}
}

// Credentials in a configured URL never reach the terminal: a proxy with a
// password that the configuration refuses is named without it, by every
// command that reads the configuration.
func TestConfiguredProxyPasswordNotShown(t *testing.T) {
	for _, proxy := range []string{"socks4://user:s3cret@proxy.example:1080", "user:s3cret@proxy.example:3128", "http://user:s3/cret@proxy.example"} {
		for _, args := range [][]string{
			{"status"}, {"status", "--json"}, {"activate", "--json", "PLTEST0001"},
			{"app", "install", "https://files.example.com/p.tar.gz"}, {"agent", "--socket", filepath.Join(t.TempDir(), "a.sock")},
		} {
			code, stdout, stderr, _ := machineCLI(t, `{"proxy":"`+proxy+`"}`, nil, "", args...)
			if code != exitcode.Usage || !strings.Contains(stderr, "proxy") {
				t.Errorf("%s with proxy %s: exit %d, %s", args, proxy, code, stderr)
			}
			if strings.Contains(stdout+stderr, "s3") {
				t.Errorf("%s with proxy %s: the password is shown:\n%s%s", args, proxy, stdout, stderr)
			}
		}
	}
}
