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
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
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

// serverEnv is the environment that points a process at srv, as
// vendortest.Server.Env says.
func serverEnv(srv *vendortest.Server) map[string]string {
	return map[string]string{"ISCDESK_SERVER": srv.URL, "ISCDESK_SERVER_KEY": srv.Key}
}

// The Settings screen writes only what the user may change to the user's
// file: never the administrator's values or the environment's server.
func TestUserSettingsSaveUserFileOnly(t *testing.T) {
	e := testEnv(t, map[string]string{"ISCDESK_SERVER": "http://127.0.0.1:9"})
	if err := config.SaveUser(e.Paths.Machine, config.Config{GraceDays: 14}); err != nil {
		t.Fatal(err)
	}
	s := UserSettings{e}
	c, err := s.Load()
	if err != nil || !c.Locked["grace_days"] || !c.Locked["server"] || c.Locked["server_key"] {
		t.Fatalf("load: %+v %v", c, err)
	}
	c.GraceDays, c.Server, c.Proxy, c.Language = 30, "https://elsewhere.example", "http://proxy.example:3128", "zh"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	u, err := config.LoadUser(e.Paths.User)
	if err != nil {
		t.Fatal(err)
	}
	if u.GraceDays != 0 || u.Server != "" || u.Proxy != "http://proxy.example:3128" || u.Language != "zh" {
		t.Errorf("user file %+v", u)
	}
	c.Proxy = "ftp://nope"
	if err := s.Save(c); err == nil || !strings.Contains(err.Error(), "proxy") {
		t.Errorf("invalid proxy saved: %v", err)
	}
	// Without the environment's, the user's own server is saved.
	e.Getenv = func(string) string { return "" }
	c, _ = s.Load()
	c.Server = "https://license.example.com"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	if u, _ := config.LoadUser(e.Paths.User); u.Server != "https://license.example.com" {
		t.Errorf("server not saved: %+v", u)
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

// The one service follows the Settings screen: a server and a grace
// period saved after it was built apply to its next call.
func TestSettingsApplyToTheBuiltService(t *testing.T) {
	ctx := context.Background()
	srv := vendortest.Start(t, vendortest.Options{})
	e := testEnv(t, map[string]string{"ISCDESK_SERVER_KEY": srv.Key})
	licenses := e.Licenses()
	if _, err := licenses.Activate(ctx, srv.Code(t, 1)); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "no license server") {
		t.Fatalf("activate with no server configured: %v", err)
	}

	settings := UserSettings{e}
	c, err := settings.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.Server = srv.URL
	if err := settings.Save(c); err != nil {
		t.Fatal(err)
	}
	st, err := licenses.Activate(ctx, srv.Code(t, 1))
	if err != nil || st.Record.Server != srv.URL {
		t.Fatalf("activate with the saved server: %+v %v", st.Record, err)
	}
	if st.Verdict.GraceLeft < 6*24*time.Hour {
		t.Fatalf("the server's grace: %v left", st.Verdict.GraceLeft)
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
	if st, err := another(e).Licenses().Status(ctx, false); err != nil || st.Storage != "keyring" {
		t.Fatalf("another process: storage %q, %v", st.Storage, err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
