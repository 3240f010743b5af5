package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	mwire "github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
)

var testRelease = server.Release{Version: "2.1.0", URL: "https://downloads.example.com/iscdesk-2.1.0.tar.gz",
	SHA256: strings.Repeat("AB", 32), Size: 1234, Force: true}

func TestManifest(t *testing.T) {
	key := servertest.Key{Priv: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))}
	api := httpapi.New(httpapi.Config{Manifests: server.Manifests{Apps: map[string]server.Release{"iscdesk": testRelease}, Signer: key}})
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)

	resp, body := get(t, ts.URL+"/v1/apps/iscdesk/manifest", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != mwire.ManifestContentType {
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	m, err := marketplace.ParseManifest(body, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := mwire.Manifest{App: "iscdesk", Version: "2.1.0", URL: testRelease.URL, SHA256: strings.Repeat("ab", 32), Size: 1234, Force: true}
	if m != want {
		t.Errorf("manifest %+v, want %+v", m, want)
	}
	// The header names the signing key, as activation tokens do.
	head, _, _ := strings.Cut(string(body), ".")
	if raw, err := base64.RawURLEncoding.DecodeString(head); err != nil || !strings.Contains(string(raw), `"kid":"`+token.KeyID(key.Public())+`"`) {
		t.Errorf("header %s (%v): want the kid", raw, err)
	}
	// Another key does not verify it.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	if _, err := marketplace.ParseManifest(body, other); !errs.Is(err, errs.Integrity) {
		t.Errorf("verified with another key: %v", err)
	}

	// A conditional GET of the same document is 304.
	etag := resp.Header.Get("ETag")
	if resp, _ := get(t, ts.URL+"/v1/apps/iscdesk/manifest", etag); etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %q: status %d", etag, resp.StatusCode)
	}

	for name, c := range map[string]struct {
		path   string
		status int
		kind   errs.Kind
	}{
		"unknown app":   {"/v1/apps/other/manifest", http.StatusNotFound, errs.NotExist},
		"control char":  {"/v1/apps/" + url.PathEscape("a\x01b") + "/manifest", http.StatusBadRequest, errs.Invalid},
		"too long name": {"/v1/apps/" + strings.Repeat("a", server.MaxAppLen+1) + "/manifest", http.StatusBadRequest, errs.Invalid},
	} {
		resp, body := get(t, ts.URL+c.path, "")
		var eb httpapi.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != c.status || eb.Error.Kind != c.kind.Name() ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, %s (%v)", name, resp.StatusCode, body, err)
		}
	}

	// A server with no apps configured answers 404 too.
	bare := httptest.NewServer(httpapi.New(httpapi.Config{}))
	t.Cleanup(bare.Close)
	if resp, body := get(t, bare.URL+"/v1/apps/iscdesk/manifest", ""); resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"not_exist"`) {
		t.Errorf("no manifests: status %d, %s", resp.StatusCode, body)
	}
}

func get(t *testing.T, u, ifNoneMatch string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
