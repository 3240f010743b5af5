package marketplace_test

// The extension calls of the client against the real sandbox handler. This
// is an external test package: the sandbox imports marketplace, so an
// in-package test importing the sandbox would be an import cycle.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/token"
)

const sandboxDev = "00:11:22:33:44:55,66:77:88:99:AA:BB|S3YJNX0K123456|BOARD-SN-1|GenuineIntel-906EA"

// vmDev is a virtual machine's fingerprint: a single unit part.
const vmDev = "52:54:00:12:34:56|||GenuineIntel-906EA"

// sandboxEnv is a sandbox (real clock, state in a temp file) behind
// httptest, counting the requests that reach it, and a client for it whose
// log is kept.
type sandboxEnv struct {
	srv    *sandbox.Server
	path   string
	url    string
	hits   atomic.Int64
	client *marketplace.Client
	logs   bytes.Buffer // the client's log (one goroutine writes: the test's)
}

func newSandboxEnv(t *testing.T) *sandboxEnv {
	t.Helper()
	e := &sandboxEnv{path: filepath.Join(t.TempDir(), "sandbox.json")}
	srv, err := sandbox.New(sandbox.Config{StatePath: e.path})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	e.url = ts.URL
	e.client = e.newClient(t, srv.Credentials())
	return e
}

func (e *sandboxEnv) newClient(t *testing.T, cred aksk.Credentials) *marketplace.Client {
	t.Helper()
	c, err := marketplace.New(marketplace.Config{
		Endpoint: e.url, Credentials: cred, Timeout: 5 * time.Second, MaxAttempts: 2,
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *sandboxEnv) code(t *testing.T, state string) string {
	t.Helper()
	for _, c := range e.srv.Codes() {
		if c.State == state {
			return c.Code
		}
	}
	t.Fatalf("no %s code", state)
	return ""
}

// secrets are the strings no error and no log line may contain: the SK and
// the vendor private key in its usual spellings.
func (e *sandboxEnv) secrets(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		VendorKey []byte `json:"vendor_key"`
	}
	if err := json.Unmarshal(data, &st); err != nil || len(st.VendorKey) != ed25519.SeedSize {
		t.Fatalf("no vendor key in the state file: %v", err)
	}
	priv := ed25519.NewKeyFromSeed(st.VendorKey)
	return []string{e.srv.Credentials().SK, e.srv.Credentials().AK,
		base64.StdEncoding.EncodeToString(st.VendorKey), hex.EncodeToString(st.VendorKey),
		base64.StdEncoding.EncodeToString(priv), base64.RawURLEncoding.EncodeToString(priv)}
}

func (e *sandboxEnv) assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range e.secrets(t) {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret: %s", what, text)
		}
	}
}

func TestIssueDeviceLicenseWithSandbox(t *testing.T) {
	e := newSandboxEnv(t)
	ctx := context.Background()
	active := e.code(t, sandbox.StateActive)
	lic, _ := e.srv.Lookup(active)

	tok, err := e.client.IssueDeviceLicense(ctx, marketplace.DeviceLicenseRequest{License: " " + active + " ", DevInfo: sandboxDev})
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.client.VendorKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(e.srv.VendorPublicKey()) {
		t.Fatal("VendorKey differs from the sandbox's key")
	}
	claims, err := token.Verify(tok, key, time.Now())
	if err != nil {
		t.Fatalf("the token does not verify: %v", err)
	}
	if claims.License != active || claims.DevInfo != sandboxDev || claims.Issuer != sandbox.Issuer ||
		claims.ProductID != sandbox.DemoProductID || claims.Expires != lic.ExpireTime.Unix() {
		t.Errorf("claims = %+v", claims)
	}

	// A single unit part binds with the machine id, which the token carries.
	mid := strings.Repeat("0f", 32)
	tok, err = e.client.IssueDeviceLicense(ctx, marketplace.DeviceLicenseRequest{License: active, DevInfo: vmDev, Machine: mid})
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := token.Verify(tok, key, time.Now()); err != nil || claims.DevInfo != vmDev || claims.Machine != mid {
		t.Errorf("single unit part: claims %+v, %v", claims, err)
	}

	// NotAfter caps the expiry, sent with one-second precision.
	notAfter := time.Now().Add(time.Hour)
	tok, err = e.client.IssueDeviceLicense(ctx, marketplace.DeviceLicenseRequest{License: active, DevInfo: sandboxDev, NotAfter: notAfter})
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := token.Verify(tok, key, time.Now()); err != nil || claims.Expires != notAfter.Unix() {
		t.Errorf("with NotAfter: exp %d, want %d (%v)", claims.Expires, notAfter.Unix(), err)
	}
	e.assertNoSecrets(t, "client log", e.logs.String())
}

func TestIssueDeviceLicenseRefusals(t *testing.T) {
	e := newSandboxEnv(t)
	ctx := context.Background()
	active := e.code(t, sandbox.StateActive)
	req := func(code string) marketplace.DeviceLicenseRequest {
		return marketplace.DeviceLicenseRequest{License: code, DevInfo: sandboxDev}
	}
	stranger := e.newClient(t, aksk.Credentials{AK: e.srv.Credentials().AK, SK: "not-the-secret-key"})
	none := e.newClient(t, aksk.Credentials{})
	tests := []struct {
		name     string
		client   *marketplace.Client
		req      marketplace.DeviceLicenseRequest
		kind     errs.Kind
		code     string
		sendsNot bool // refused before anything is sent
	}{
		{"unknown code", nil, req("PLNOSUCHCODE"), errs.NotFound, wire.CodeNotExist, false},
		{"not activated", nil, req(e.code(t, sandbox.StateReady)), errs.NotActivated, wire.CodeNotActivated, false},
		{"undelivered", nil, req(e.code(t, sandbox.StateUndelivered)), errs.NotActivated, wire.CodeNotActivated, false},
		{"expired", nil, req(e.code(t, sandbox.StateExpired)), errs.Expired, wire.CodeIllegalState, false},
		{"released", nil, req(e.code(t, sandbox.StateReleased)), errs.Released, wire.CodeIllegalState, false},
		{"NotAfter in the past", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: sandboxDev,
			NotAfter: time.Now().Add(-time.Hour)}, errs.Invalid, wire.CodeInvalidParameter, false},
		{"wrong SK", stranger, req(active), errs.Credentials, wire.GatewayBadSignature, false},
		{"no credentials", none, req(active), errs.Credentials, "", true},
		{"malformed code", nil, req("PL 1"), errs.Invalid, "", true},
		{"empty devInfo", nil, marketplace.DeviceLicenseRequest{License: active}, errs.Invalid, "", true},
		{"devInfo over 5120 bytes", nil, marketplace.DeviceLicenseRequest{License: active,
			DevInfo: strings.Repeat("A", 5118) + "|||"}, errs.Invalid, "", true},
		{"devInfo not a fingerprint", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: "a|b"}, errs.Invalid, "", true},
		{"devInfo with a control character", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: "a|b|c|\x1b[2J"}, errs.Invalid, "", true},
		{"devInfo without a unit part", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: "|||GenuineIntel-906EA"}, errs.Invalid, "", true},
		{"single unit part without the machine id", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: vmDev}, errs.Invalid, "", true},
		{"machine id malformed", nil, marketplace.DeviceLicenseRequest{License: active, DevInfo: vmDev, Machine: "AB"}, errs.Invalid, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			if c == nil {
				c = e.client
			}
			before := e.hits.Load()
			token, err := c.IssueDeviceLicense(ctx, tt.req)
			if token != "" || !errs.Is(err, tt.kind) {
				t.Fatalf("IssueDeviceLicense = %q, %v; want kind %v", token, err, tt.kind)
			}
			if le := (*errs.Error)(nil); tt.code != "" && (!errors.As(err, &le) || le.Code != tt.code) {
				t.Errorf("error code of %v, want %s", err, tt.code)
			}
			if sent := e.hits.Load() - before; tt.sendsNot && sent != 0 {
				t.Errorf("%d requests sent, want none", sent)
			}
			e.assertNoSecrets(t, "error", fmt.Sprintf("%v %+v %#v", err, err, err))
		})
	}
	if _, err := none.VendorKey(ctx); !errs.Is(err, errs.Credentials) {
		t.Errorf("VendorKey without credentials: %v", err)
	}
	if _, err := stranger.VendorKey(ctx); !errs.Is(err, errs.Credentials) {
		t.Errorf("VendorKey with a wrong SK: %v", err)
	}
	e.assertNoSecrets(t, "client log", e.logs.String())
}

// The manifest the sandbox serves passes FetchManifest with the sandbox's
// vendor key pinned, and the package at its URL has its digest and size,
// through SetManifest changes too. With any other key pinned it is refused.
func TestFetchManifestFromSandbox(t *testing.T) {
	e := newSandboxEnv(t)
	ctx := context.Background()
	key := e.srv.VendorPublicKey()
	check := func(wantVersion string, wantForce bool) {
		t.Helper()
		m, err := marketplace.FetchManifest(ctx, nil, e.url+wire.PathUpdateManifest+"?app=demo", key)
		if err != nil {
			t.Fatal(err)
		}
		if m.App != "demo" || m.Version != wantVersion || m.Force != wantForce || m.URL != e.url+wire.PathUpdatePackage {
			t.Errorf("manifest = %+v", m)
		}
		resp, err := http.Get(m.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != m.SHA256 || int64(len(body)) != m.Size {
			t.Errorf("package digest %x of %d bytes, manifest says %s of %d", sum, len(body), m.SHA256, m.Size)
		}
	}
	check(sandbox.DefaultManifestVersion, false)
	other, _, _ := ed25519.GenerateKey(nil)
	if _, err := marketplace.FetchManifest(ctx, nil, e.url+wire.PathUpdateManifest+"?app=demo", other); !errs.Is(err, errs.Integrity) {
		t.Errorf("manifest accepted with another key pinned: %v", err)
	}
	if err := e.srv.SetManifest(sandbox.Manifest{Version: "2.1.0-rc.1", Force: true, Package: []byte("new build")}); err != nil {
		t.Fatal(err)
	}
	check("2.1.0-rc.1", true)
}
