//go:build !darwin || cgo

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// The Settings adapter writes only what the user may change to the user's
// file: never the administrator's values or the environment's endpoint.
func TestGUISettingsSaveUserFileOnly(t *testing.T) {
	dir := t.TempDir()
	paths := config.Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user", "config.json")}
	if err := config.SaveUser(paths.Machine, config.Config{GraceDays: 14}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ISCDESK_ENDPOINT": "http://127.0.0.1:9"}
	io := &stdio{getenv: func(k string) string { return env[k] }, paths: &paths}
	s := guiSettings{io}
	c, err := s.Load()
	if err != nil || !c.Locked["grace_days"] || !c.Locked["endpoint"] {
		t.Fatalf("load: %+v %v", c, err)
	}
	c.GraceDays, c.Endpoint, c.Proxy, c.Language = 30, "https://elsewhere.example", "http://proxy.example:3128", "zh"
	if err := s.Save(c); err != nil {
		t.Fatal(err)
	}
	u, err := config.LoadUser(paths.User)
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

func TestGUICredentials(t *testing.T) {
	ctx := context.Background()
	io := &stdio{getenv: func(string) string { return "" }, secrets: &secret.Memory{}}
	c := guiCredentials{io}
	if c.Has(ctx) {
		t.Fatal("credentials reported before any were stored")
	}
	if err := c.Set(ctx, "AKDEMO", "SKDEMO"); err != nil {
		t.Fatal(err)
	}
	got, err := io.credentials(ctx)
	if !c.Has(ctx) || err != nil || got.AK != "AKDEMO" || got.SK != "SKDEMO" {
		t.Errorf("stored %+v, %v", got, err)
	}
}

func TestGUIActivateRefusesMalformedCode(t *testing.T) {
	_, err := guiLicenses{&stdio{getenv: func(string) string { return "" }}}.Activate(context.Background(), "PL 1")
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("err %v, want kind Invalid before any call", err)
	}
}
