package wiring

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

func testEnv(t *testing.T, env map[string]string) *Env {
	dir := t.TempDir()
	paths := config.Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user", "config.json"), TrustCurrentUser: true}
	return &Env{
		Getenv: func(k string) string { return env[k] }, Paths: &paths, Secrets: &secret.Memory{},
		MachineID: func() (string, error) { return "machine", nil },
	}
}

// The Settings screen writes only what the user may change to the user's
// file: never the administrator's values or the environment's endpoint.
func TestUserSettingsSaveUserFileOnly(t *testing.T) {
	e := testEnv(t, map[string]string{"ISCDESK_ENDPOINT": "http://127.0.0.1:9"})
	if err := config.SaveUser(e.Paths.Machine, config.Config{GraceDays: 14}); err != nil {
		t.Fatal(err)
	}
	s := UserSettings{e}
	c, err := s.Load()
	if err != nil || !c.Locked["grace_days"] || !c.Locked["endpoint"] {
		t.Fatalf("load: %+v %v", c, err)
	}
	c.GraceDays, c.Endpoint, c.Proxy, c.Language = 30, "https://elsewhere.example", "http://proxy.example:3128", "zh"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	u, err := config.LoadUser(e.Paths.User)
	if err != nil {
		t.Fatal(err)
	}
	if u.GraceDays != 0 || u.Endpoint != "" || u.Proxy != "http://proxy.example:3128" || u.Language != "zh" {
		t.Errorf("user file %+v", u)
	}
	c.Proxy = "ftp://nope"
	if err := s.Save(c); err == nil || !strings.Contains(err.Error(), "proxy") {
		t.Errorf("invalid proxy saved: %v", err)
	}
}

func TestKeyringCredentials(t *testing.T) {
	ctx := context.Background()
	e := testEnv(t, nil)
	c := KeyringCredentials{e}
	if c.Has(ctx) {
		t.Fatal("credentials reported before any were stored")
	}
	if err := c.Set(ctx, "AKDEMO", "SKDEMO"); err != nil {
		t.Fatal(err)
	}
	got, err := e.Credentials(ctx)
	if !c.Has(ctx) || err != nil || got.AK != "AKDEMO" || got.SK != "SKDEMO" {
		t.Errorf("stored %+v, %v", got, err)
	}
	if err := e.ClearCredentials(ctx); err != nil || c.Has(ctx) {
		t.Errorf("clear: %v", err)
	}
}

func TestActivateRefusesMalformedCode(t *testing.T) {
	_, err := testEnv(t, nil).Licenses().Activate(context.Background(), "PL 1")
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("err %v, want kind Invalid before any call", err)
	}
}

func TestBrokenConfigIsInvalid(t *testing.T) {
	e := testEnv(t, nil)
	if err := config.SaveUser(e.Paths.User, config.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(e.Paths.User, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Licenses().Status(context.Background(), false); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("status with a broken config file: %v", err)
	}
}

// The one service follows the Settings screen: an endpoint and a grace
// period saved after it was built apply to its next call.
func TestSettingsApplyToTheBuiltService(t *testing.T) {
	ctx := context.Background()
	sb, url := startSandbox(t)
	cred := sb.Credentials()
	e := testEnv(t, map[string]string{"ISCDESK_AK": cred.AK, "ISCDESK_SK": cred.SK})
	licenses := e.Licenses()

	settings := UserSettings{e}
	c, err := settings.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.Endpoint = url
	if err := settings.Save(c); err != nil {
		t.Fatal(err)
	}
	st, err := licenses.Activate(ctx, readyCode(t, sb))
	if err != nil || st.Record.Endpoint != url {
		t.Fatalf("activate with the saved endpoint: %+v %v", st.Record, err)
	}
	if st.Verdict.GraceLeft < 6*24*time.Hour {
		t.Fatalf("default grace: %v left", st.Verdict.GraceLeft)
	}
	c.GraceDays = 1
	if err := settings.Save(c); err != nil {
		t.Fatal(err)
	}
	st, err = licenses.Status(ctx, false)
	if err != nil || st.Verdict.GraceLeft > 24*time.Hour || st.Storage != "keyring" {
		t.Fatalf("after grace_days 1 was saved: %v left, storage %q, %v", st.Verdict.GraceLeft, st.Storage, err)
	}
	if licenses != e.Licenses() {
		t.Fatal("a second service was built")
	}
	// Another process's first call says where the record is kept.
	other := &Env{Getenv: e.Getenv, Paths: e.Paths, Secrets: e.Secrets, MachineID: e.MachineID}
	if st, err := other.Licenses().Status(ctx, false); err != nil || st.Storage != "keyring" {
		t.Fatalf("another process: storage %q, %v", st.Storage, err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
