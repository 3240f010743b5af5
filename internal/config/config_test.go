package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user.json"), TrustCurrentUser: true}

	c, err := Load(p, nil)
	if err != nil || c.Server != "" || c.GracePeriod() != DefaultGracePeriod {
		t.Fatalf("defaults: %+v %v", c, err)
	}

	write(t, p.User, `{"server":"http://127.0.0.1:1","grace_days":3,"future_key":1}`)
	c, _ = Load(p, nil)
	if c.Server != "http://127.0.0.1:1" || c.GracePeriod() != 3*24*time.Hour {
		t.Fatalf("user: %+v", c)
	}
	env := map[string]string{"ISCDESK_SERVER": "http://127.0.0.1:2"}
	c, _ = Load(p, func(k string) string { return env[k] })
	if c.Server != "http://127.0.0.1:2" {
		t.Fatalf("env: %+v", c)
	}

	// The administrator's grace period wins over the user's and is locked.
	write(t, p.Machine, `{"grace_days":14,"proxy":"http://proxy.example:3128"}`)
	c, _ = Load(p, nil)
	if c.GraceDays != 14 || !c.Locked["grace_days"] || !c.Locked["proxy"] || c.Locked["server"] || c.Server != "http://127.0.0.1:1" {
		t.Fatalf("machine: %+v", c)
	}
}

func TestMalformedFilesNamed(t *testing.T) {
	dir := t.TempDir()
	p := Paths{User: filepath.Join(dir, "user.json")}
	for _, bad := range []string{`{"server":`, `{"server":"ftp://x"}`, `{"server":"http://license.example.com"}`, `{"grace_days":-1}`, `[1]`} {
		write(t, p.User, bad)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "config") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
}

func TestSaveUserAtomicPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.json")
	if err := SaveUser(path, Config{Server: "https://mkt.example"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	c, err := Load(Paths{User: path}, nil)
	if err != nil || c.Server != "https://mkt.example" {
		t.Fatalf("%+v %v", c, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestAgentSettings(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user.json"), TrustCurrentUser: true}
	write(t, p.User, `{"cloud_dir":"/u/cloud","solver_command":["/bin/solve","{input}"],"solver_timeout":"5m"}`)
	write(t, p.Machine, `{"solver_command":["/opt/solver","--in","{input}","--out","{output}"]}`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CloudDir != "/u/cloud" || len(c.SolverCommand) != 5 || !c.Locked["solver_command"] || c.SolverTimeoutDuration() != 5*time.Minute {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{`{"solver_timeout":"soon"}`, `{"solver_command":["solve"]}`, `{"update_manifest":"file:///x"}`} {
		write(t, p.User, bad)
		if _, err := Load(Paths{User: p.User}, nil); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if (Config{}).SolverTimeoutDuration() != DefaultSolverTimeout {
		t.Error("default solver timeout")
	}
}

func TestLanguage(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user.json"), TrustCurrentUser: true}
	write(t, p.User, `{"language":"zh"}`)
	c, err := Load(p, nil)
	if err != nil || c.Language != "zh" || c.Locked["language"] {
		t.Fatalf("user language: %+v %v", c, err)
	}
	u, err := LoadUser(p.User)
	if err != nil || u.Language != "zh" || u.Server != "" {
		t.Fatalf("LoadUser: %+v %v", u, err)
	}
	write(t, p.Machine, `{"language":"en"}`)
	if c, _ = Load(p, nil); c.Language != "en" || !c.Locked["language"] {
		t.Fatalf("machine language: %+v", c)
	}
	write(t, p.User, `{"language":"fr"}`)
	if _, err := Load(Paths{User: p.User}, nil); err == nil || !strings.Contains(err.Error(), "language") {
		t.Fatalf("fr accepted: %v", err)
	}
}
