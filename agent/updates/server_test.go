package updates_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/agent/updates"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/server"
)

// TestVendorServer finds an update through the vendor license server as
// the desktop does by default (update_manifest unset: the server's
// /v1/apps/{app}/manifest), verified with the pinned vendor key, and
// downloads the package it announces.
func TestVendorServer(t *testing.T) {
	pkg := []byte("iscdesk 2.4.0 package\n")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(pkg) }))
	t.Cleanup(files.Close)
	sum := sha256.Sum256(pkg)
	srv := vendortest.Start(t, vendortest.Options{Apps: map[string]server.Release{
		"iscdesk": {Version: "2.4.0", URL: files.URL + "/iscdesk-2.4.0.tgz", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(pkg))},
	}})
	c := &updates.ManifestChecker{URL: srv.URL + "/v1/apps/" + updates.AppPlaceholder + "/manifest",
		Downloads: t.TempDir(), ServerKey: srv.Public, HTTP: &http.Client{}}
	ctx := context.Background()
	u, err := c.Check(ctx, "iscdesk", "1.9.0")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Available || u.Version != "2.4.0" || u.Size != int64(len(pkg)) || u.Force {
		t.Fatalf("update %+v", u)
	}
	if _, err := c.Prepare(ctx, "iscdesk", "1.9.0"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(c.Downloads)
	found := false
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(c.Downloads, e.Name())); err == nil && string(b) == string(pkg) {
			found = true
		}
	}
	if !found {
		t.Errorf("package not downloaded into %v", entries)
	}
	// An app the server has no release for is not an update.
	if _, err := c.Check(ctx, "other", "1.9.0"); err == nil {
		t.Error("an unknown app's manifest was found")
	}
}
