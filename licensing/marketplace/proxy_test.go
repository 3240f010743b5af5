package marketplace

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// A proxy's password appears in no error and no log line of a marketplace
// call, whichever way the proxy fails.
func TestProxyCredentialsNotShown(t *testing.T) {
	dead := testutil.ClosedAddr(t)
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	defer refuse.Close()
	for name, addr := range map[string]string{"dead": dead, "407": refuse.Listener.Addr().String()} {
		var logs bytes.Buffer
		c := newTestClient(t, "https://mkt.example.invalid", func(cfg *Config) {
			cfg.Proxy = "http://user:s3cret@" + addr
			cfg.MaxAttempts = 2
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		_, err := c.Activate(context.Background(), "PLTEST0001")
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("proxy %s: %v", name, err)
		}
		if logs.Len() == 0 || strings.Contains(logs.String(), "s3cret") {
			t.Errorf("proxy %s: logs:\n%s", name, logs.String())
		}
	}
	if _, err := New(Config{Proxy: "ftp://user:s3cret@proxy.example"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad proxy: %v", err)
	}
}

// An update manifest's URL may carry a token in its query (a pre-signed
// URL): a failed fetch does not repeat it.
func TestManifestFetchErrorHidesQuery(t *testing.T) {
	dead := testutil.ClosedAddr(t)
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = FetchManifest(context.Background(), nil, "http://"+dead+"/manifest.json?token=s3cret&app=cad", pub)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), dead) {
		t.Errorf("got %v", err)
	}
}
