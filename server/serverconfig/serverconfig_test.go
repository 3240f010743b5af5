package serverconfig_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/serverconfig"
)

func TestLoadApps(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	good := server.Release{Version: "2.0.0", URL: "https://example.com/p.tgz", SHA256: sum, Size: 10}
	with := func(f func(*server.Release)) server.Release { r := good; f(&r); return r }
	for name, c := range map[string]struct {
		apps  map[string]server.Release
		fails string // a part of the error, "" for none
	}{
		"none":              {nil, ""},
		"good":              {map[string]server.Release{"iscdesk": good}, ""},
		"loopback http":     {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.URL = "http://127.0.0.1:8600/p" })}, ""},
		"upper-case digest": {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.SHA256 = strings.ToUpper(sum) })}, ""},
		"prerelease":        {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.Version = "3.1.0-rc.1" })}, ""},
		"loose version":     {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.Version = "v2.0" })}, "version"},
		"no version":        {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.Version = "" })}, "version"},
		"plain http":        {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.URL = "http://example.com/p" })}, "url"},
		"ftp":               {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.URL = "ftp://example.com/p" })}, "url"},
		"relative url":      {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.URL = "/p.tgz" })}, "url"},
		"user in url":       {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.URL = "https://u:pw@example.com/p" })}, "url"},
		"short digest":      {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.SHA256 = sum[:62] })}, "sha256"},
		"not hex":           {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.SHA256 = strings.Repeat("zz", 32) })}, "sha256"},
		"zero size":         {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.Size = 0 })}, "size"},
		"negative size":     {map[string]server.Release{"iscdesk": with(func(r *server.Release) { r.Size = -1 })}, "size"},
		"empty app":         {map[string]server.Release{"": good}, "app"},
		"control in app":    {map[string]server.Release{"a\nb": good}, "app"},
		"long app":          {map[string]server.Release{strings.Repeat("a", server.MaxAppLen+1): good}, "app"},
	} {
		t.Run(name, func(t *testing.T) {
			f := serverconfig.Folder{Dir: t.TempDir()}
			cfg := serverconfig.Default()
			cfg.Apps = c.apps
			raw, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.ConfigPath(), raw, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := f.Load()
			switch {
			case c.fails == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.fails != "" && (err == nil || !strings.Contains(err.Error(), "apps: ") || !strings.Contains(err.Error(), c.fails)):
				t.Fatalf("error %v, want one about apps and %s", err, c.fails)
			case c.fails == "" && len(got.Apps) != len(c.apps):
				t.Errorf("apps %v", got.Apps)
			}
		})
	}
}

// The floating settings load with their defaults and are checked at load.
func TestLoadLeases(t *testing.T) {
	load := func(t *testing.T, edit func(c map[string]any)) (serverconfig.Config, error) {
		f := serverconfig.Folder{Dir: t.TempDir()}
		raw, _ := json.Marshal(serverconfig.Default())
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		edit(m)
		raw, _ = json.Marshal(m)
		if err := os.WriteFile(f.ConfigPath(), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return f.Load()
	}
	c, err := load(t, func(map[string]any) {})
	if err != nil || c.Policy().LeaseTTL != server.DefaultLeaseTTL || c.Policy().HeartbeatInterval != server.DefaultHeartbeat {
		t.Fatalf("defaults: %+v %v", c.Policy(), err)
	}
	c, err = load(t, func(m map[string]any) {
		m["lease_ttl"], m["heartbeat_interval"] = "30s", "5s"
		m["products"] = map[string]any{"p1": map[string]any{"license_model": "floating", "max_borrow_days": 14}}
	})
	if err != nil || c.Policy().LeaseTTL.String() != "30s" || !c.Products["p1"].Floating() || c.Products["p1"].MaxBorrowDays != 14 {
		t.Fatalf("set: %+v %v", c, err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"heartbeat not shorter": func(m map[string]any) { m["lease_ttl"], m["heartbeat_interval"] = "1m", "1m" },
		"unknown model":         func(m map[string]any) { m["default_product"] = map[string]any{"license_model": "per-user"} },
		"borrow too long":       func(m map[string]any) { m["default_product"] = map[string]any{"max_borrow_days": 91} },
		"not a duration":        func(m map[string]any) { m["lease_ttl"] = "ten minutes" },
	} {
		if _, err := load(t, edit); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
