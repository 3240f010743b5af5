package marketplace

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/semver"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

const goodSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// vendorKey signs the manifests of these tests; the desktop pins its public
// half.
var vendorKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))

func pinned() ed25519.PublicKey { return vendorKey.Public().(ed25519.PublicKey) }

func goodManifest() wire.Manifest {
	return wire.Manifest{App: "cad", Version: "2.0.0", URL: "https://cdn.example/app-2.0.0.exe", SHA256: goodSHA, Size: 1234, Force: true}
}

func manifestPayload(m wire.Manifest) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// signedRaw signs any header and payload with priv, bypassing
// token.SignPayload's checks: what a hostile or broken signer could send.
func signedRaw(priv ed25519.PrivateKey, header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(payload))
	return signing + "." + enc(ed25519.Sign(priv, []byte(signing)))
}

const manifestHeader = `{"alg":"EdDSA","typ":"` + wire.ManifestType + `"}`

// signed is a manifest payload signed as the vendor signs it.
func signed(payload string) string { return signedRaw(vendorKey, manifestHeader, payload) }

func signedManifest(mod func(*wire.Manifest)) string {
	m := goodManifest()
	if mod != nil {
		mod(&m)
	}
	return signed(manifestPayload(m))
}

// The signed manifest parser: only a manifest signed by the pinned key,
// with valid fields, is read; every other answer is refused with its kind.
func TestParseManifest(t *testing.T) {
	_, otherKey, _ := ed25519.GenerateKey(nil)
	license, err := token.Sign(vendorKey, token.Claims{License: "PL1", DevInfo: "a|b|c|d", Expires: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	good := goodManifest()
	with := func(mod func(*wire.Manifest)) wire.Manifest { m := good; mod(&m); return m }
	tests := []struct {
		name string
		body string
		kind errs.Kind // Other: accepted
		want wire.Manifest
	}{
		{"good", signedManifest(nil), errs.Other, good},
		{"good, trailing newline", signedManifest(nil) + "\n", errs.Other, good},
		{"loopback http package", signedManifest(func(m *wire.Manifest) { m.URL = "http://127.0.0.1:9/p" }), errs.Other,
			with(func(m *wire.Manifest) { m.URL = "http://127.0.0.1:9/p" })},
		{"upper-case digest normalised", signedManifest(func(m *wire.Manifest) { m.SHA256 = strings.ToUpper(goodSHA) }), errs.Other, good},
		{"unknown keys ignored", signed(manifestPayload(good)[:len(manifestPayload(good))-1] + `,"notes":"x"}`), errs.Other, good},
		{"four-part prerelease version", signedManifest(func(m *wire.Manifest) { m.Version = "2024.1.0.7-rc.1" }), errs.Other,
			with(func(m *wire.Manifest) { m.Version = "2024.1.0.7-rc.1" })},

		// Not signed by the pinned key: nothing of it is read.
		{"unsigned JSON", manifestPayload(good), errs.Integrity, wire.Manifest{}},
		{"signed by another key", signedRaw(otherKey, manifestHeader, manifestPayload(good)), errs.Integrity, wire.Manifest{}},
		{"tampered version", strings.Join([]string{strings.Split(signedManifest(nil), ".")[0],
			base64.RawURLEncoding.EncodeToString([]byte(manifestPayload(with(func(m *wire.Manifest) { m.Version = "9.0.0" })))),
			strings.Split(signedManifest(nil), ".")[2]}, "."), errs.Integrity, wire.Manifest{}},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"`+wire.ManifestType+`"}`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(manifestPayload(good))) + ".", errs.Integrity, wire.Manifest{}},
		{"no typ", signedRaw(vendorKey, `{"alg":"EdDSA"}`, manifestPayload(good)), errs.Integrity, wire.Manifest{}},
		{"a device license of the same key", license, errs.Integrity, wire.Manifest{}},
		{"payload an array", signed(`[]`), errs.Integrity, wire.Manifest{}},
		{"empty", "", errs.Integrity, wire.Manifest{}},
		{"html", "<html>", errs.Integrity, wire.Manifest{}},

		// Signed, but fields this machine must not act on.
		{"version with traversal", signedManifest(func(m *wire.Manifest) { m.Version = "9/../../../autostart/evil" }), errs.Protocol, wire.Manifest{}},
		{"version with a backslash", signedManifest(func(m *wire.Manifest) { m.Version = `2.0.0\..\x` }), errs.Protocol, wire.Manifest{}},
		{"version not strict", signedManifest(func(m *wire.Manifest) { m.Version = "v2.0" }), errs.Protocol, wire.Manifest{}},
		{"version with spaces", signedManifest(func(m *wire.Manifest) { m.Version = " 2.0.0 " }), errs.Protocol, wire.Manifest{}},
		{"version with a control character", signedManifest(func(m *wire.Manifest) { m.Version = "2.0.0\x1b[0m" }), errs.Protocol, wire.Manifest{}},
		{"version too long", signedManifest(func(m *wire.Manifest) { m.Version = "1.0.0-" + strings.Repeat("9", 65) }), errs.Protocol, wire.Manifest{}},
		{"version missing", signedManifest(func(m *wire.Manifest) { m.Version = "" }), errs.Protocol, wire.Manifest{}},
		{"app missing", signedManifest(func(m *wire.Manifest) { m.App = "" }), errs.Protocol, wire.Manifest{}},
		{"app with a control character", signedManifest(func(m *wire.Manifest) { m.App = "cad\u202e" }), errs.Protocol, wire.Manifest{}},
		{"size missing", signedManifest(func(m *wire.Manifest) { m.Size = 0 }), errs.Protocol, wire.Manifest{}},
		{"size negative", signedManifest(func(m *wire.Manifest) { m.Size = -1 }), errs.Protocol, wire.Manifest{}},
		{"size beyond the cap", signedManifest(func(m *wire.Manifest) { m.Size = MaxUpdateBytes + 1 }), errs.Protocol, wire.Manifest{}},
		{"size not a number", signed(strings.Replace(manifestPayload(good), `"size":1234`, `"size":"1234"`, 1)), errs.Protocol, wire.Manifest{}},
		{"sha256 too short", signedManifest(func(m *wire.Manifest) { m.SHA256 = goodSHA[:63] }), errs.Protocol, wire.Manifest{}},
		{"sha256 not hex", signedManifest(func(m *wire.Manifest) { m.SHA256 = strings.Repeat("g", 64) }), errs.Protocol, wire.Manifest{}},
		{"package over plain http", signedManifest(func(m *wire.Manifest) { m.URL = "http://cdn.example/p" }), errs.Protocol, wire.Manifest{}},
		{"package over ftp", signedManifest(func(m *wire.Manifest) { m.URL = "ftp://cdn.example/p" }), errs.Protocol, wire.Manifest{}},
		{"relative package url", signedManifest(func(m *wire.Manifest) { m.URL = "/p" }), errs.Protocol, wire.Manifest{}},
		{"package url with a password", signedManifest(func(m *wire.Manifest) { m.URL = "https://u:pw@cdn.example/p" }), errs.Protocol, wire.Manifest{}},
		{"package url too long", signedManifest(func(m *wire.Manifest) { m.URL = "https://cdn.example/" + strings.Repeat("p", maxPackageURLLen) }), errs.Protocol, wire.Manifest{}},
		{"force not a bool", signed(strings.Replace(manifestPayload(good), `"force":true`, `"force":"yes"`, 1)), errs.Protocol, wire.Manifest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tt.body), pinned())
			if tt.kind == errs.Other {
				if err != nil || m != tt.want {
					t.Fatalf("ParseManifest = %+v, %v; want %+v", m, err, tt.want)
				}
				return
			}
			wantKind(t, err, tt.kind)
			if m != (wire.Manifest{}) {
				t.Errorf("manifest %+v returned with an error", m)
			}
			if len(err.Error()) > 1000 || strings.Contains(err.Error(), "device license") {
				t.Errorf("error: %v", err)
			}
		})
	}
	for _, key := range []ed25519.PublicKey{nil, pinned()[:16]} {
		_, err := ParseManifest([]byte(signedManifest(nil)), key)
		wantKind(t, err, errs.Invalid)
		if !errors.Is(err, ErrNoServerKey) {
			t.Errorf("no key: %v", err)
		}
	}
}

// manifestServer answers the manifest path with body and status, and
// serves a redirect at /redirect to the location in its query.
func manifestServer(t *testing.T, status int, body string) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method %s", r.Method)
		}
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", wire.ManifestContentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestFetchManifest(t *testing.T) {
	ctx := context.Background()
	good := signedManifest(nil)
	big := signed(manifestPayload(goodManifest())[:len(manifestPayload(goodManifest()))-1] + `,"notes":"` + strings.Repeat("x", MaxManifestBytes) + `"}`)
	tests := []struct {
		name   string
		status int
		body   string
		kind   errs.Kind // Other: success expected
	}{
		{"good", 200, good, errs.Other},
		{"unsigned", 200, manifestPayload(goodManifest()), errs.Integrity},
		{"over the cap", 200, big, errs.Protocol},
		{"not found", 404, `{}`, errs.Protocol},
		{"server failing", 503, `{}`, errs.Unavailable},
		{"rate limited", 429, `{}`, errs.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := manifestServer(t, tt.status, tt.body)
			m, err := FetchManifest(ctx, nil, ts.URL+"/manifest?app=cad", pinned())
			if tt.kind == errs.Other {
				if err != nil || m != goodManifest() {
					t.Fatalf("FetchManifest = %+v, %v", m, err)
				}
				return
			}
			wantKind(t, err, tt.kind)
			if m != (wire.Manifest{}) {
				t.Errorf("manifest %+v returned with an error", m)
			}
		})
	}
}

// failingTransport fails the test if a request gets as far as the network.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("request to %s sent", r.URL.Host)
	return nil, errors.New("no network in this test")
}

func TestFetchManifestRefusesURLs(t *testing.T) {
	hc := &http.Client{Transport: failingTransport{t}}
	for _, u := range []string{
		"http://example.com/manifest", "http://192.0.2.1/manifest", "http://[2001:db8::1]/m",
		"ftp://127.0.0.1/manifest", "file:///etc/passwd", "/manifest", "https://user:secret@example.com/m",
		"https:///nohost", "://", "mailto:x@example.com",
	} {
		_, err := FetchManifest(context.Background(), hc, u, pinned())
		wantKind(t, err, errs.Invalid)
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats a password: %v", err)
		}
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	_, err := FetchManifest(context.Background(), insecure, "https://example.com/m", pinned())
	wantKind(t, err, errs.Invalid)
	// No key pinned: nothing is asked for.
	_, err = FetchManifest(context.Background(), hc, "https://example.com/m", nil)
	wantKind(t, err, errs.Invalid)
	if !errors.Is(err, ErrNoServerKey) || !strings.Contains(err.Error(), "server_key") {
		t.Errorf("no key: %v", err)
	}
}

func TestFetchManifestRedirects(t *testing.T) {
	ts := manifestServer(t, 200, signedManifest(nil))
	// To loopback http (and to https) a redirect is followed: the signature,
	// not the server, vouches for the manifest.
	m, err := FetchManifest(context.Background(), nil, ts.URL+"/redirect?to="+ts.URL+"/manifest", pinned())
	if err != nil || m.Version != "2.0.0" {
		t.Errorf("redirect on loopback: %+v, %v", m, err)
	}
	// To plain http elsewhere it is refused before any connection.
	_, err = FetchManifest(context.Background(), nil, ts.URL+"/redirect?to=http://example.com/manifest", pinned())
	wantKind(t, err, errs.Protocol)
	// A loop ends.
	_, err = FetchManifest(context.Background(), nil, ts.URL+"/loop", pinned())
	wantKind(t, err, errs.Protocol)
}

func TestFetchManifestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, signedManifest(nil))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	ts.StartTLS()
	defer ts.Close()
	// The test server's own client trusts its certificate.
	if m, err := FetchManifest(context.Background(), ts.Client(), ts.URL+"/m", pinned()); err != nil || m.Version != "2.0.0" {
		t.Errorf("https with a trusted certificate: %+v, %v", m, err)
	}
	// The default client does not: verification is never skipped.
	_, err := FetchManifest(context.Background(), nil, ts.URL+"/m", pinned())
	wantKind(t, err, errs.Unavailable)
}

func TestFetchManifestHonoursContext(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := FetchManifest(ctx, nil, ts.URL+"/m", pinned())
	wantKind(t, err, errs.Unavailable)
	if time.Since(start) > 5*time.Second {
		t.Error("FetchManifest outlived its context")
	}
}

// FuzzParseManifest feeds the signed manifest parser two ways: the answer as
// it arrives (almost never signed by the pinned key, so it must be refused
// before its payload is read), and a payload the fuzzer chooses, signed by
// the pinned key (so the field checks meet hostile values a vendor
// mistake could sign). Nothing may panic; errors are short and carry a
// kind; an accepted manifest is safe to act on.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(signedManifest(nil)), false)
	f.Add([]byte(manifestPayload(goodManifest())), true)
	for _, p := range []string{
		`{"app":"cad","version":"9/../../../autostart/evil","url":"https://x.example/p","sha256":"` + goodSHA + `","size":1}`,
		`{"app":"cad","version":"2.0.0","url":"http://127.0.0.1:1/p","sha256":"` + goodSHA + `","size":9223372036854775807}`,
		`{"app":"\u202e","version":"1.0.0-rc.1","url":"https://u:p@x/p","sha256":"","size":-1,"force":1}`,
		`[]`, `null`, `{}`, `{"version":1e999}`,
	} {
		f.Add([]byte(p), true)
		f.Add([]byte(signed(p)), false)
	}
	f.Add([]byte(signedRaw(vendorKey, `{"alg":"none","typ":"`+wire.ManifestType+`"}`, manifestPayload(goodManifest()))), false)
	f.Fuzz(func(t *testing.T, data []byte, signIt bool) {
		body := data
		if signIt {
			body = []byte(signed(string(data)))
		}
		m, err := ParseManifest(body, pinned())
		if err != nil {
			k := errs.KindOf(err)
			if k != errs.Integrity && k != errs.Protocol {
				t.Fatalf("kind %v: %v", k, err)
			}
			if k == errs.Protocol {
				// Only a payload the pinned key signed gets as far as its fields.
				if _, verr := token.VerifyPayload(string(body), pinned(), wire.ManifestType); verr != nil {
					t.Fatalf("fields read from an answer the key did not sign: %v", err)
				}
			}
			if s := err.Error(); len(s) > 1000 || !utf8.ValidString(s) {
				t.Fatalf("error of %d bytes: %q", len(s), s)
			}
			if m != (wire.Manifest{}) {
				t.Fatalf("manifest %+v returned with an error", m)
			}
			return
		}
		if _, err := semver.Parse(m.Version); err != nil {
			t.Fatalf("accepted version %q: %v", m.Version, err)
		}
		if m.Size <= 0 || m.Size > MaxUpdateBytes || len(m.SHA256) != 64 || m.App == "" || checkFetchURL(m.URL) != nil {
			t.Fatalf("accepted %+v", m)
		}
		if _, verr := token.VerifyPayload(string(body), pinned(), wire.ManifestType); verr != nil {
			t.Fatalf("accepted an answer the pinned key did not sign: %v", verr)
		}
	})
}
