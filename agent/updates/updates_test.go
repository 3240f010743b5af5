package updates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

func TestNewer(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"2.10.0", "2.9.1", true},
		{"2.9.1", "2.10.0", false},
		{"2.0", "2.0.0", false},
		{"2.0.1", "2.0", true},
		{"v3", "2.9", true},
		{"1.0.0", "1.0.0", false},
		{"1.0.0-rc2", "1.0.0-rc1", true},
	}
	for _, tt := range tests {
		if got := newer(tt.a, tt.b); got != tt.want {
			t.Errorf("newer(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// server serves a manifest announcing 2.0.0 and its package, whose SHA-256
// the manifest gives as sum (the real one when sum is "").
func server(t *testing.T, pkg []byte, sum string) *httptest.Server {
	t.Helper()
	if sum == "" {
		s := sha256.Sum256(pkg)
		sum = hex.EncodeToString(s[:])
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/manifest", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("app") != "testcad" {
			http.Error(w, "unknown app", http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"version": "2.0.0", "url": srv.URL + "/pkg/testcad.tar.gz", "sha256": sum, "force": true})
	})
	mux.HandleFunc("/pkg/testcad.tar.gz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(pkg) })
	return srv
}

func TestPrepare(t *testing.T) {
	pkg := []byte("package 2.0.0")
	srv := server(t, pkg, "")
	m := &ManifestChecker{URL: srv.URL + "/manifest", Downloads: filepath.Join(t.TempDir(), "updates")}
	ctx := context.Background()

	if u, err := m.Prepare(ctx, "testcad", "2.0.0"); err != nil || u.Available {
		t.Fatalf("up to date: %+v %v", u, err)
	}
	if files, _ := os.ReadDir(m.Downloads); len(files) != 0 {
		t.Errorf("downloaded without an update: %v", files)
	}
	u, err := m.Prepare(ctx, "testcad", "1.4.2")
	if err != nil || !u.Available || !u.Force || u.Version != "2.0.0" {
		t.Fatalf("update: %+v %v", u, err)
	}
	got, err := os.ReadFile(filepath.Join(m.Downloads, "2.0.0-testcad.tar.gz"))
	if err != nil || string(got) != string(pkg) {
		t.Errorf("downloaded %q, %v", got, err)
	}
	// Nothing else stays: no partial file, no resume information.
	if files, _ := os.ReadDir(m.Downloads); len(files) != 1 {
		t.Errorf("left in the downloads folder: %v", files)
	}
}

func TestPrepareRefusesWrongSHA256(t *testing.T) {
	srv := server(t, []byte("tampered"), hex.EncodeToString(make([]byte, 32)))
	m := &ManifestChecker{URL: srv.URL + "/manifest", Downloads: filepath.Join(t.TempDir(), "updates")}
	if _, err := m.Prepare(context.Background(), "testcad", "1.0.0"); errs.KindOf(err) != errs.Integrity {
		t.Fatalf("a package with the wrong SHA-256: %v", err)
	}
	if files, _ := os.ReadDir(m.Downloads); len(files) != 0 {
		t.Errorf("left behind: %v", files)
	}
}
