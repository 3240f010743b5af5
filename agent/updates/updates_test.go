package updates

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// vendorKey signs the manifests the tests' vendor serves; the checker pins
// its public half, as an administrator pins server_key.
var vendorKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))

func pinned() ed25519.PublicKey { return vendorKey.Public().(ed25519.PublicKey) }

var testPackage = []byte("package 2.0.0 of testcad")

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// signManifest signs m as the vendor does.
func signManifest(t testing.TB, priv ed25519.PrivateKey, m wire.Manifest) string {
	t.Helper()
	payload, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.SignPayload(priv, wire.ManifestType, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// vendor is an update server on loopback: the manifest at /manifest (what
// body returns, given the server's URL), the package at /pkg/… and, on
// another host (same address, other port), a copy of it.
type vendor struct {
	url   string // this server
	other string // another host serving the package
	body  func(v *vendor) string

	mu    sync.Mutex
	hits  map[string]int // path → requests, on both hosts
	extra int            // bytes the package server adds beyond testPackage
	chunk bool           // send the package without a Content-Length
}

func newVendor(t *testing.T, body func(v *vendor) string) *vendor {
	v := &vendor{body: body, hits: map[string]int{}}
	// A plain handler, not a ServeMux: the mux would clean the hostile
	// paths before the code under test could meet them.
	serve := func(host string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v.mu.Lock()
			v.hits[host+r.URL.Path]++
			extra, chunk := v.extra, v.chunk
			v.mu.Unlock()
			switch p := r.URL.Path; {
			case (p == "/manifest" || p == "/v1/apps/testcad/manifest") && host == "main":
				w.Header().Set("Content-Type", wire.ManifestContentType)
				_, _ = w.Write([]byte(v.body(v)))
			case p == "/away" && host == "main":
				http.Redirect(w, r, v.other+"/pkg/testcad.tar.gz", http.StatusFound)
			case p == "/moved" && host == "main":
				http.Redirect(w, r, "/pkg/testcad.tar.gz", http.StatusFound)
			case strings.HasPrefix(p, "/pkg/"):
				data := append(bytes.Clone(testPackage), bytes.Repeat([]byte("x"), extra)...)
				if !chunk {
					w.Header().Set("Content-Length", strconv.Itoa(len(data)))
				}
				_, _ = w.Write(data)
			default:
				http.NotFound(w, r)
			}
		}
	}
	main := httptest.NewServer(serve("main"))
	other := httptest.NewServer(serve("other"))
	t.Cleanup(main.Close)
	t.Cleanup(other.Close)
	v.url, v.other = main.URL, other.URL
	return v
}

func (v *vendor) requests(prefix string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for p, k := range v.hits {
		if strings.HasPrefix(p, prefix) {
			n += k
		}
	}
	return n
}

// good is the manifest the vendor means: 2.0.0 of testcad.
func (v *vendor) good() wire.Manifest {
	return wire.Manifest{App: "testcad", Version: "2.0.0", URL: v.url + "/pkg/testcad.tar.gz",
		SHA256: digest(testPackage), Size: int64(len(testPackage)), Force: true}
}

// signed serves the good manifest changed by mod, signed by the vendor.
func signed(t *testing.T, mod func(v *vendor, m *wire.Manifest)) func(v *vendor) string {
	return func(v *vendor) string {
		m := v.good()
		if mod != nil {
			mod(v, &m)
		}
		return signManifest(t, vendorKey, m)
	}
}

func checker(dir string, v *vendor) *ManifestChecker {
	return &ManifestChecker{URL: v.url + "/manifest", Downloads: filepath.Join(dir, "data", "updates"), ServerKey: pinned()}
}

// packages lists the files in the downloads folder, iscdesk's own (dot
// names) left out.
func packages(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestPrepare(t *testing.T) {
	v := newVendor(t, nil)
	v.body = signed(t, nil)
	dir := t.TempDir()
	m := checker(dir, v)
	ctx := context.Background()

	if u, err := m.Prepare(ctx, "testcad", "2.0.0"); err != nil || u.Available {
		t.Fatalf("up to date: %+v %v", u, err)
	}
	if files := packages(t, m.Downloads); len(files) != 0 {
		t.Errorf("downloaded without an update: %v", files)
	}
	u, err := m.Prepare(ctx, "testcad", "1.4.2")
	if err != nil || !u.Available || !u.Force || u.Version != "2.0.0" || u.Size != int64(len(testPackage)) {
		t.Fatalf("update: %+v %v", u, err)
	}
	got, err := os.ReadFile(filepath.Join(m.Downloads, "2.0.0-testcad.tar.gz"))
	if err != nil || !bytes.Equal(got, testPackage) {
		t.Errorf("downloaded %q, %v", got, err)
	}
	// Nothing else stays: no partial file, no resume information; only the
	// record of the version accepted.
	entries, _ := os.ReadDir(m.Downloads)
	if len(entries) != 2 || entries[0].Name() != acceptedName {
		t.Errorf("left in the downloads folder: %v", entries)
	}
	// A program version given loosely compares as the same version.
	for _, same := range []string{"v2.0", "2.0.0+build.7", " 2.0.0.0 "} {
		if u, err := m.Check(ctx, "testcad", same); err != nil || u.Available {
			t.Errorf("running %q: %+v %v", same, u, err)
		}
	}
	// The license server's manifest names the app in its path.
	perApp := &ManifestChecker{URL: v.url + "/v1/apps/{app}/manifest", Downloads: filepath.Join(t.TempDir(), "updates"), ServerKey: pinned()}
	if u, err := perApp.Check(ctx, "testcad", "1.0.0"); err != nil || !u.Available {
		t.Errorf("the app in the path: %+v %v", u, err)
	}
	// A same-host redirect is followed.
	v.body = signed(t, func(v *vendor, m *wire.Manifest) { m.URL = v.url + "/moved" })
	if _, err := checker(t.TempDir(), v).Prepare(ctx, "testcad", "1.0.0"); err != nil {
		t.Errorf("redirect on the same host: %v", err)
	}
}

// hostileCases are manifests and servers an attacker (or a broken vendor)
// could put in front of the update check, and what the check says.
type hostileCase struct {
	name    string
	body    func(t *testing.T) func(v *vendor) string
	setup   func(v *vendor, m *ManifestChecker)
	app     string   // "" means testcad
	running string   // "" means 1.0.0
	before  []string // versions the vendor announced, and the checker accepted, earlier
	kind    errs.Kind
	is      error // and errors.Is, when set
}

func hostileCases() []hostileCase {
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{6}, ed25519.SeedSize))
	version := func(s string) func(t *testing.T) func(v *vendor) string {
		return func(t *testing.T) func(v *vendor) string {
			return signed(t, func(_ *vendor, m *wire.Manifest) { m.Version = s })
		}
	}
	return []hostileCase{
		{name: "path traversal in the version",
			body: version("9/../../../autostart/evil"), kind: errs.Protocol},
		{name: "path traversal in the version, Windows style",
			body: version(`9\..\..\..\autostart\evil`), kind: errs.Protocol},
		{name: "version that is not strict",
			body: version("v9.0"), kind: errs.Protocol},
		{name: "package size beyond the cap (Content-Length)",
			body:  func(t *testing.T) func(v *vendor) string { return signed(t, nil) },
			setup: func(v *vendor, _ *ManifestChecker) { v.extra = 1 << 20 }, kind: errs.Integrity, is: download.ErrTooLarge},
		{name: "package size beyond the cap (no length)",
			body:  func(t *testing.T) func(v *vendor) string { return signed(t, nil) },
			setup: func(v *vendor, _ *ManifestChecker) { v.extra, v.chunk = 1<<20, true }, kind: errs.Integrity, is: download.ErrTooLarge},
		{name: "huge size announced",
			body: func(t *testing.T) func(v *vendor) string {
				return signed(t, func(_ *vendor, m *wire.Manifest) { m.Size = marketplace.MaxUpdateBytes + 1 })
			}, kind: errs.Protocol},
		{name: "redirect to another host",
			body: func(t *testing.T) func(v *vendor) string {
				return signed(t, func(v *vendor, m *wire.Manifest) { m.URL = v.url + "/away" })
			}, kind: errs.Invalid},
		{name: "wrong signature",
			body: func(t *testing.T) func(v *vendor) string {
				return func(v *vendor) string { return signManifest(t, otherKey, v.good()) }
			}, kind: errs.Integrity, is: token.ErrSignature},
		{name: "tampered manifest",
			body: func(t *testing.T) func(v *vendor) string {
				return func(v *vendor) string {
					parts := strings.Split(signManifest(t, vendorKey, v.good()), ".")
					evil := v.good()
					evil.SHA256 = digest([]byte("evil"))
					parts[1] = strings.Split(signManifest(t, otherKey, evil), ".")[1]
					return strings.Join(parts, ".")
				}
			}, kind: errs.Integrity, is: token.ErrSignature},
		{name: "unsigned manifest",
			body: func(t *testing.T) func(v *vendor) string {
				return func(v *vendor) string { b, _ := json.Marshal(v.good()); return string(b) }
			}, kind: errs.Integrity, is: token.ErrMalformed},
		{name: "a device license signed by the vendor key",
			body: func(t *testing.T) func(v *vendor) string {
				return func(v *vendor) string {
					tok, _ := token.Sign(vendorKey, token.Claims{License: "PL1", DevInfo: "a|b|c|d", Expires: time.Now().Add(time.Hour).Unix()})
					return tok
				}
			}, kind: errs.Integrity, is: token.ErrSignature},
		{name: "key not pinned",
			body:  func(t *testing.T) func(v *vendor) string { return signed(t, nil) },
			setup: func(_ *vendor, m *ManifestChecker) { m.ServerKey = nil }, kind: errs.Unavailable, is: marketplace.ErrNoServerKey},
		{name: "manifest made out to another app",
			body: func(t *testing.T) func(v *vendor) string {
				return signed(t, func(_ *vendor, m *wire.Manifest) { m.App = "othercad" })
			}, kind: errs.Integrity},
		{name: "older than the running version (downgrade)",
			body: version("1.9.9"), running: "2.0.0", kind: errs.Integrity, is: ErrDowngrade},
		{name: "replayed older manifest (downgrade)",
			body: version("2.5.0"), before: []string{"2.0.0", "3.0.0"}, kind: errs.Integrity, is: ErrDowngrade},
		{name: "replayed older prerelease (downgrade)",
			body: version("3.0.0-rc.1"), before: []string{"3.0.0"}, kind: errs.Integrity, is: ErrDowngrade},
		{name: "hash mismatch",
			body: func(t *testing.T) func(v *vendor) string {
				return signed(t, func(_ *vendor, m *wire.Manifest) { m.SHA256 = digest([]byte("another package")) })
			}, kind: errs.Integrity, is: download.ErrChecksum},
		{name: "program version that is not one",
			body: func(t *testing.T) func(v *vendor) string { return signed(t, nil) }, running: "dev build", kind: errs.Invalid},
	}
}

// TestHostileManifests: every hostile manifest is refused with its kind,
// and nothing is written but in the downloads folder, and no package there.
func TestHostileManifests(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			v := newVendor(t, nil)
			m := checker(dir, v)
			app, running := tc.app, tc.running
			if app == "" {
				app = "testcad"
			}
			if running == "" {
				running = "1.0.0"
			}
			for _, b := range tc.before {
				v.body = signed(t, func(_ *vendor, m *wire.Manifest) { m.Version = b })
				if _, err := m.Check(context.Background(), app, running); err != nil {
					t.Fatalf("earlier manifest %s: %v", b, err)
				}
			}
			v.body = tc.body(t)
			if tc.setup != nil {
				tc.setup(v, m)
			}
			u, err := m.Prepare(context.Background(), app, running)
			if got := errs.KindOf(err); err == nil || got != tc.kind {
				t.Fatalf("Prepare = %+v, %v (kind %v); want kind %v", u, err, got, tc.kind)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if u != (Update{}) {
				t.Errorf("update %+v returned with an error", u)
			}
			if files := packages(t, m.Downloads); len(files) != 0 {
				t.Errorf("kept in the downloads folder: %v", files)
			}
			top, _ := os.ReadDir(dir)
			if len(top) > 1 || len(top) == 1 && top[0].Name() != "data" {
				t.Errorf("written outside the downloads folder: %v", top)
			}
			if n := v.requests("other"); n != 0 {
				t.Errorf("%d requests to another host", n)
			}
			if tc.kind == errs.Unavailable || tc.kind == errs.Invalid && tc.running != "" {
				if n := v.requests("main"); n != 0 {
					t.Errorf("%d requests sent before refusing", n)
				}
			}
			t.Log(err)
			if len(err.Error()) > 600 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}

// The record of accepted versions outlives the checker (an agent restart),
// belongs to the pinned key, and a damaged one starts afresh.
func TestDowngradeAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v := newVendor(t, signed(t, func(_ *vendor, m *wire.Manifest) { m.Version = "3.0.0" }))
	if _, err := checker(dir, v).Check(ctx, "testcad", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	v.body = signed(t, nil) // the genuine, superseded 2.0.0
	if _, err := checker(dir, v).Check(ctx, "testcad", "1.0.0"); !errors.Is(err, ErrDowngrade) {
		t.Fatalf("replay after a restart: %v", err)
	}
	// Another app has its own record.
	v.body = signed(t, func(_ *vendor, m *wire.Manifest) { m.App = "othercad" })
	if u, err := checker(dir, v).Check(ctx, "othercad", "1.0.0"); err != nil || !u.Available {
		t.Errorf("another app: %+v %v", u, err)
	}
	// Another key pinned: another vendor, another record.
	newKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	v.body = func(v *vendor) string { return signManifest(t, newKey, v.good()) }
	m := checker(dir, v)
	m.ServerKey = newKey.Public().(ed25519.PublicKey)
	if _, err := m.Check(ctx, "testcad", "1.0.0"); err != nil {
		t.Errorf("another key: %v", err)
	}
	// A damaged record does not stop updates for good.
	if err := os.WriteFile(filepath.Join(dir, "data", "updates", acceptedName), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	v.body = signed(t, nil)
	if _, err := checker(dir, v).Check(ctx, "testcad", "1.0.0"); err != nil {
		t.Errorf("damaged record: %v", err)
	}
}

// The saved name is ours: the version (strict), the program's name made
// safe, and a type from our list; nothing of the URL's name.
func TestPackageName(t *testing.T) {
	for _, c := range []struct{ app, version, url, want string }{
		{"testcad", "2.0.0", "https://x.example/pkg/testcad.tar.gz", "2.0.0-testcad.tar.gz"},
		{"testcad", "2.0.0", "https://x.example/dl?id=7", "2.0.0-testcad"},
		{"testcad", "2.0.0", "https://x.example/pkg/..%2F..%2F..%2Fautostart%2Fevil.desktop", "2.0.0-testcad"},
		{"testcad", "2.0.0", "https://x.example/pkg/SETUP.EXE", "2.0.0-testcad.exe"},
		{"testcad", "2.0.0", "https://x.example/pkg/a.exe/..", "2.0.0-testcad"},
		{"../../autostart/evil", "2.0.0", "https://x.example/p.zip", "2.0.0--..-autostart-evil.zip"},
		{"CAD Pro: 2", "1.0.0-rc.1", "https://x.example/p.msi", "1.0.0-rc.1-CAD Pro- 2.msi"},
		{"", "2.0.0", "https://x.example/p", "2.0.0-update"},
		{"...", "2.0.0", "https://x.example/p", "2.0.0-update"},
		{strings.Repeat("齿", 60), "1.0.0-" + strings.Repeat("a", 58), "https://x.example/p.AppImage", "1.0.0-" + strings.Repeat("a", 58) + "-" + strings.Repeat("齿", 8) + ".AppImage"},
	} {
		got, err := packageName(c.app, c.version, c.url)
		if err != nil || got != c.want {
			t.Errorf("packageName(%q, %q, %q) = %q, %v; want %q", c.app, c.version, c.url, got, err, c.want)
		}
	}
}

// Programs ask at once (one agent serves them all): every check succeeds
// and the record stays whole.
func TestConcurrentChecks(t *testing.T) {
	v := newVendor(t, nil)
	v.body = signed(t, nil)
	m := checker(t.TempDir(), v)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := m.Prepare(context.Background(), "testcad", "1.0.0")
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(m.Downloads, acceptedName))
	var rec map[string]map[string]string
	if err != nil || json.Unmarshal(b, &rec) != nil || len(rec) != 1 {
		t.Errorf("record %s, %v", b, err)
	}
}
