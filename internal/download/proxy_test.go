package download

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// proxies are proxy addresses that fail a CONNECT in each way: nothing
// listening, credentials refused (407), the upstream unreachable (502).
func proxies(t *testing.T) map[string]string {
	dead := testutil.ClosedAddr(t)
	status := func(code int) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(s.Close)
		return s.Listener.Addr().String()
	}
	return map[string]string{"dead": dead, "407": status(http.StatusProxyAuthRequired), "502": status(http.StatusBadGateway)}
}

// A proxy's password never appears in a download error, whichever way the
// proxy fails, and neither does a bad proxy URL's.
func TestProxyCredentialsNotShown(t *testing.T) {
	for name, addr := range proxies(t) {
		c, err := New(Config{CacheDir: t.TempDir(), Proxy: "http://user:s3cret@" + addr, Attempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Fetch(context.Background(), "https://files.example.invalid/software.tar.gz?token=t0ken", Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "t0ken") {
			t.Errorf("proxy %s: %v", name, err)
		}
	}
	for _, bad := range []string{"ftp://user:s3cret@proxy.example", "user:s3cret@[::1", "http://user:s3cret@"} {
		if _, err := New(Config{CacheDir: t.TempDir(), Proxy: bad}); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("proxy %q: %v", bad, err)
		}
	}
}
