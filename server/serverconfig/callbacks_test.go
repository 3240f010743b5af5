package serverconfig_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/serverconfig"
)

func TestCallbackKey(t *testing.T) {
	dir := t.TempDir()
	f := serverconfig.Folder{Dir: dir}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg := serverconfig.Default()

	if k, err := f.CallbackKey(cfg, env(nil)); k != "" || err != nil {
		t.Fatalf("none configured: %q %v", k, err)
	}
	if k, _ := f.CallbackKey(cfg, env(map[string]string{serverconfig.CallbackKeyEnv: "from-env"})); k != "from-env" {
		t.Fatalf("env: %q", k)
	}
	cfg.CredentialsFile = "cred.json"
	path := filepath.Join(dir, "cred.json")
	write := func(body string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"ak":"A","sk":"S","callback_key":"secret-cb-key"}`, 0o600)
	if k, err := f.CallbackKey(cfg, env(nil)); k != "secret-cb-key" || err != nil {
		t.Fatalf("file: %q %v", k, err)
	}
	// The AK/SK still come from the same file.
	if c, ok, err := f.Credentials(cfg, env(nil)); !ok || err != nil || c.AK != "A" {
		t.Fatalf("credentials: %v %v", ok, err)
	}
	if k, _ := f.CallbackKey(cfg, env(map[string]string{serverconfig.CallbackKeyEnv: "from-env"})); k != "from-env" {
		t.Fatalf("the environment comes first: %q", k)
	}
	write(`{"ak":"A","sk":"S"}`, 0o600)
	if k, err := f.CallbackKey(cfg, env(nil)); k != "" || err != nil {
		t.Fatalf("file without a callback key: %q %v", k, err)
	}
	write(`{"callback_key":""}`, 0o600)
	if _, err := f.CallbackKey(cfg, env(nil)); err == nil {
		t.Fatal("empty callback key accepted")
	}
	write(`{"callback_key":"secret-cb-key"`, 0o600)
	if _, err := f.CallbackKey(cfg, env(nil)); err == nil || strings.Contains(err.Error(), "secret-cb-key") {
		t.Fatalf("broken file: %v", err)
	}
	write(`{"callback_key":"secret-cb-key"}`, 0o644)
	if _, err := f.CallbackKey(cfg, env(nil)); err == nil {
		t.Fatal("a credentials file readable by others accepted")
	}
}

func TestUploadsConfig(t *testing.T) {
	f := serverconfig.Folder{Dir: t.TempDir()}
	load := func(set func(m map[string]any)) (serverconfig.Config, error) {
		raw, _ := json.Marshal(serverconfig.Default())
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		set(m)
		raw, _ = json.Marshal(m)
		if err := os.WriteFile(f.ConfigPath(), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return f.Load()
	}
	c, err := load(func(m map[string]any) {
		m["uploads"] = map[string]string{"inline": "1s", "backoff": "10s", "max_backoff": "5m", "lease": "1m"}
		m["products"] = map[string]any{"p": map[string]any{"callback_urls": "per_event", "periodic": true, "async_quota": 3}}
	})
	if err != nil {
		t.Fatal(err)
	}
	pol := c.Policy()
	if pol.Uploads.Inline != time.Second || pol.Uploads.MaxBackoff != 5*time.Minute || pol.Products["p"].CallbackURLs != server.CallbackURLsPerEvent || pol.Products["p"].AsyncQuota != 3 {
		t.Fatalf("policy %+v", pol)
	}
	for name, set := range map[string]func(m map[string]any){
		"inline over 4s":    func(m map[string]any) { m["uploads"] = map[string]string{"inline": "5s"} },
		"bad callback_urls": func(m map[string]any) { m["products"] = map[string]any{"p": map[string]any{"callback_urls": "some"}} },
		"negative quota":    func(m map[string]any) { m["products"] = map[string]any{"p": map[string]any{"async_quota": -1}} },
		"bad signature form": func(m map[string]any) {
			m["products"] = map[string]any{"p": map[string]any{"callback_signature": "body"}}
		},
		"unknown upload key": func(m map[string]any) { m["uploads"] = map[string]string{"retries": "5"} },
	} {
		if _, err := load(set); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
