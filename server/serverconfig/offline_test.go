package serverconfig_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/server/serverconfig"
)

func TestOfflineRequestDays(t *testing.T) {
	for _, c := range []struct {
		days int
		want time.Duration // 0: refused
	}{
		{0, -1}, // the service's default (server.DefaultOfflineRequestTTL)
		{7, 7 * 24 * time.Hour},
		{366, 366 * 24 * time.Hour},
		{367, 0},
		{-1, 0},
	} {
		f := serverconfig.Folder{Dir: t.TempDir()}
		cfg := serverconfig.Default()
		cfg.OfflineRequestDays = c.days
		raw, _ := json.Marshal(cfg)
		if err := os.WriteFile(f.ConfigPath(), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := f.Load()
		if c.want == 0 {
			if err == nil {
				t.Errorf("%d days accepted", c.days)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d days: %v", c.days, err)
		}
		want := c.want
		if want < 0 {
			want = 0
		}
		if p := got.Policy(); p.OfflineRequestTTL != want {
			t.Errorf("%d days: validity %s, want %s", c.days, p.OfflineRequestTTL, want)
		}
	}
}
