package sandbox_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/token"
)

const testDev = "00:11:22:33:44:55|S3YJNX0K123456|BOARD-SN-1|GenuineIntel-906EA"

func deviceBody(code, dev, notAfter string) string {
	b, _ := json.Marshal(wire.DeviceLicenseBody{License: code, DevInfo: dev, NotAfter: notAfter})
	return string(b)
}

// vmDev is a virtual machine's fingerprint, a single unit part, and testMID
// a protected machine id.
const vmDev = "52:54:00:12:34:56|||GenuineIntel-906EA"

var testMID = strings.Repeat("0f", 32)

func vmBody(code, machine string) string {
	b, _ := json.Marshal(wire.DeviceLicenseBody{License: code, DevInfo: vmDev, Machine: machine})
	return string(b)
}

// jws splits a compact JWS into its decoded header and claims and checks the
// Ed25519 signature with pub directly (independently of the sdk).
func jws(t *testing.T, tok string, pub ed25519.PublicKey) (header map[string]any, claims token.Claims) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", tok, len(parts))
	}
	dec := func(s string) []byte {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("segment %q: %v", s, err)
		}
		return b
	}
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), dec(parts[2])) {
		t.Fatal("signature does not verify with the vendor public key")
	}
	if err := json.Unmarshal(dec(parts[0]), &header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	return header, claims
}

// issue asks for a device license and returns the token.
func (e *env) issue(code, dev, notAfter string) string {
	e.t.Helper()
	got := e.post(wire.PathDeviceLicense, deviceBody(code, dev, notAfter))
	if got.status != http.StatusOK || got.env.ErrorCode != wire.CodeSuccess {
		e.t.Fatalf("device license: %d %s", got.status, got.raw)
	}
	var d wire.DeviceLicenseData
	if err := json.Unmarshal(got.env.Data, &d); err != nil {
		e.t.Fatal(err)
	}
	return d.Token
}

func TestDeviceLicense(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	code := e.code(sandbox.StateActive, 0)
	lic, _ := e.srv.Lookup(code)
	pub := e.srv.VendorPublicKey()
	if len(pub) != ed25519.PublicKeySize {
		t.Fatalf("VendorPublicKey of %d bytes", len(pub))
	}

	tok := e.issue(code, testDev, "")
	header, claims := jws(t, tok, pub)
	if len(header) != 2 || header["alg"] != "EdDSA" || header["typ"] != "JWT" {
		t.Errorf("header = %v", header)
	}
	want := token.Claims{Issuer: sandbox.Issuer, License: code, DevInfo: testDev, ProductID: sandbox.DemoProductID,
		IssuedAt: t0.Unix(), NotBefore: t0.Unix(), Expires: lic.ExpireTime.Unix(), ID: claims.ID}
	if claims != want {
		t.Errorf("claims = %+v, want %+v", claims, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(claims.ID) {
		t.Errorf("jti %q", claims.ID)
	}
	// The vendor's program checks the token with package token (and the
	// device with sdk.VerifyDeviceLicense, which the agent's tests run on
	// the sandbox's licenses).
	got, err := token.Verify(tok, pub, t0)
	if err != nil || got != want {
		t.Errorf("token.Verify = %+v, %v", got, err)
	}
	other, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Verify(tok, other.VendorPublicKey(), t0); err == nil {
		t.Error("a license verifies with another sandbox's key")
	}

	// Each license is new: same request, another jti.
	if _, again := jws(t, e.issue(code, testDev, ""), pub); again.ID == claims.ID {
		t.Error("two licenses share a jti")
	}

	// not_after caps the expiry, and never extends it.
	soon := t0.Add(48 * time.Hour)
	if _, c := jws(t, e.issue(code, testDev, soon.Format(wire.TimeLayout)), pub); c.Expires != soon.Unix() {
		t.Errorf("exp with an earlier not_after = %d, want %d", c.Expires, soon.Unix())
	}
	late := lic.ExpireTime.AddDate(1, 0, 0).Format(wire.TimeLayout)
	if _, c := jws(t, e.issue(code, testDev, late), pub); c.Expires != lic.ExpireTime.Unix() {
		t.Errorf("exp with a later not_after = %d, want the code's %d", c.Expires, lic.ExpireTime.Unix())
	}

	// A single unit part binds with the machine id.
	vmAnswer := e.post(wire.PathDeviceLicense, vmBody(code, testMID))
	var d wire.DeviceLicenseData
	if err := json.Unmarshal(vmAnswer.env.Data, &d); err != nil || vmAnswer.env.ErrorCode != wire.CodeSuccess {
		t.Fatalf("single unit part: %s", vmAnswer.raw)
	}
	if _, c := jws(t, d.Token, pub); c.DevInfo != vmDev || c.Machine != testMID {
		t.Errorf("single unit part: claims %+v", c)
	}

	// A code activated through the API gets licenses too, and dev_info may
	// be as long as the published cap.
	ready := e.code(sandbox.StateReady, 0)
	e.post(wire.PathActivate, licenseBody(ready))
	long := strings.Repeat("A", wire.MaxDevInfoBytes-4) + "|B||"
	if _, c := jws(t, e.issue(ready, long, ""), pub); c.DevInfo != long || c.License != ready {
		t.Errorf("license for %s: sub %s, dev of %d bytes", ready, c.License, len(c.DevInfo))
	}
}

// Every refusal of the device license call, with the license API's answers.
func TestDeviceLicenseRefusals(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	active := e.code(sandbox.StateActive, 0)
	body := func(code string) string { return deviceBody(code, testDev, "") }
	path := wire.PathDeviceLicense
	tests := []struct {
		name       string
		call       call
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unsigned", call{path: path, body: body(active), unsigned: true}, 401, wire.GatewayBadSignature, ""},
		{"signed an hour ago", call{path: path, body: body(active), skew: -time.Hour}, 401, wire.GatewayBadSignature, ""},
		{"GET", call{method: "GET", path: path, unsigned: true}, 405, wire.CodeMethodNotSupported, ""},
		{"text/plain", call{path: path, body: body(active), contentType: "text/plain"}, 415, wire.CodeContentType, ""},
		{"not JSON", call{path: path, body: `{"license"`}, 400, wire.CodeBodyNotReadable, ""},
		{"license missing", call{path: path, body: `{"dev_info":"` + testDev + `"}`}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info missing", call{path: path, body: licenseBody(active)}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info empty", call{path: path, body: deviceBody(active, "", "")}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info a number", call{path: path, body: `{"license":"` + active + `","dev_info":5}`}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info over 5120 bytes", call{path: path, body: deviceBody(active, strings.Repeat("A", 5118)+"|||", "")}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info over 5120 bytes in fewer characters", call{path: path, body: deviceBody(active, strings.Repeat("é", 2560)+"|||", "")}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info not a fingerprint", call{path: path, body: deviceBody(active, "MAC|disk|board", "")}, 200, wire.CodeInvalidParameter, "dev_info"},
		{"dev_info with a control character", call{path: path, body: deviceBody(active, "a\x1b[2Jb", "")}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info key in other case", call{path: path, body: `{"license":"` + active + `","Dev_Info":"x"}`}, 400, wire.CodeRequestInvalid, ""},
		{"dev_info without a unit part", call{path: path, body: deviceBody(active, "|||GenuineIntel-906EA", "")}, 200, wire.CodeInvalidParameter, "dev_info"},
		{"single unit part without machine", call{path: path, body: vmBody(active, "")}, 200, wire.CodeInvalidParameter, "machine"},
		{"machine not hex", call{path: path, body: vmBody(active, strings.Repeat("zz", 32))}, 200, wire.CodeInvalidParameter, "machine"},
		{"machine too long", call{path: path, body: vmBody(active, testMID+"0")}, 400, wire.CodeRequestInvalid, ""},
		{"machine a number", call{path: path, body: `{"license":"` + active + `","dev_info":"` + vmDev + `","machine":5}`}, 400, wire.CodeRequestInvalid, ""},
		{"not_after too long", call{path: path, body: deviceBody(active, testDev, "20300101000000000")}, 400, wire.CodeRequestInvalid, ""},
		{"not_after malformed", call{path: path, body: deviceBody(active, testDev, "2030-01-01")}, 200, wire.CodeInvalidParameter, "not_after"},
		{"not_after now", call{path: path, body: deviceBody(active, testDev, t0.Format(wire.TimeLayout))}, 200, wire.CodeInvalidParameter, "not_after"},
		{"not_after past", call{path: path, body: deviceBody(active, testDev, "20200101000000")}, 200, wire.CodeInvalidParameter, "not_after"},
		{"unknown code", call{path: path, body: body("PLNOSUCHCODE")}, 200, wire.CodeNotExist, ""},
		{"not activated", call{path: path, body: body(e.code(sandbox.StateReady, 0))}, 200, wire.CodeNotActivated, ""},
		{"undelivered", call{path: path, body: body(e.code(sandbox.StateUndelivered, 0))}, 200, wire.CodeNotActivated, ""},
		{"expired", call{path: path, body: body(e.code(sandbox.StateExpired, 0))}, 200, wire.CodeIllegalState, "EXPIRED"},
		{"released", call{path: path, body: body(e.code(sandbox.StateReleased, 0))}, 200, wire.CodeIllegalState, "RELEASED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			got := e.send(tt.call)
			if got.status != tt.wantStatus || got.env.ErrorCode != tt.wantCode {
				t.Fatalf("answer %d %s, want %d %s: %s", got.status, got.env.ErrorCode, tt.wantStatus, tt.wantCode, got.raw)
			}
			if !strings.Contains(got.env.ErrorMsg, tt.wantMsg) || got.env.ErrorMsg == "" {
				t.Errorf("error_msg %q, want it to name %q", got.env.ErrorMsg, tt.wantMsg)
			}
			assertErrorShape(t, got.raw)
		})
	}

	// The clock, not only the demo state, ends a code's licenses.
	t.Run("expired by the clock", func(t *testing.T) {
		e.t = t
		lic, _ := e.srv.Lookup(active)
		e.clock.Add(lic.ExpireTime.Sub(t0))
		if got := e.post(path, body(active)); got.env.ErrorCode != wire.CodeIllegalState {
			t.Errorf("answer %s", got.raw)
		}
	})
}

// get sends an unsigned GET and returns status, headers and body.
func (e *env) get(path string, header ...string) (int, http.Header, []byte) {
	e.t.Helper()
	r, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
		} else {
			r.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestVendorKey(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	want := base64.StdEncoding.EncodeToString(e.srv.VendorPublicKey())
	check := func(how string, raw []byte) {
		t.Helper()
		var env wire.Envelope[wire.VendorKeyData]
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("%s: %v: %s", how, err, raw)
		}
		if env.ErrorCode != wire.CodeSuccess || env.Data.Alg != "EdDSA" || env.Data.PublicKey != want {
			t.Errorf("%s: %s, want key %s", how, raw, want)
		}
	}
	status, _, raw := e.get(wire.PathVendorKey)
	if status != http.StatusOK {
		t.Fatalf("GET: %d %s", status, raw)
	}
	check("GET", raw)
	check("signed POST", e.post(wire.PathVendorKey, `{}`).raw)

	for _, c := range []struct {
		name       string
		call       call
		wantStatus int
		wantCode   string
	}{
		{"unsigned POST", call{path: wire.PathVendorKey, body: `{}`, unsigned: true}, 401, wire.GatewayBadSignature},
		{"POST without a body", call{path: wire.PathVendorKey}, 400, wire.CodeBodyNotReadable},
		{"PUT", call{method: "PUT", path: wire.PathVendorKey, body: `{}`}, 405, wire.CodeMethodNotSupported},
	} {
		if got := e.send(c.call); got.status != c.wantStatus || got.env.ErrorCode != c.wantCode {
			t.Errorf("%s: %d %s, want %d %s", c.name, got.status, got.raw, c.wantStatus, c.wantCode)
		}
	}
	r, _ := http.NewRequest(http.MethodPut, e.url+wire.PathVendorKey, nil)
	if resp, err := http.DefaultClient.Do(r); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow %q", resp.Header.Get("Allow"))
	}

	// The key survives a restart, so licenses issued before stay valid.
	again, err := sandbox.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if !again.VendorPublicKey().Equal(e.srv.VendorPublicKey()) {
		t.Error("vendor key changed across a reopen")
	}
	if other := newEnv(t, sandbox.Config{}); other.srv.VendorPublicKey().Equal(e.srv.VendorPublicKey()) {
		t.Error("two sandboxes share a vendor key")
	}
}

// A state file from before device licenses gets a vendor key, saved at once.
func TestVendorKeyAddedToOldState(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	data, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st["vendor_key"]) == 0 {
		t.Fatal("a fresh state file has no vendor_key")
	}
	delete(st, "vendor_key")
	old, _ := json.Marshal(st)
	if err := os.WriteFile(e.path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testutil.LockedBuffer
	first, err := sandbox.New(sandbox.Config{StatePath: e.path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if first.VendorPublicKey().Equal(e.srv.VendorPublicKey()) {
		t.Error("the removed key came back")
	}
	second, err := sandbox.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if !second.VendorPublicKey().Equal(first.VendorPublicKey()) {
		t.Error("the added vendor key was not saved")
	}
	if second.Credentials() != e.srv.Credentials() || len(second.Codes()) != len(e.srv.Codes()) {
		t.Error("adding the vendor key lost credentials or codes")
	}
	seed := readSeed(t, e.path)
	assertNoKey(t, "log", logs.String(), seed)

	for _, bad := range []string{`"AAAA"`, `"not base64!"`, `5`} {
		st["vendor_key"] = json.RawMessage(bad)
		corrupt, _ := json.Marshal(st)
		if err := os.WriteFile(e.path, corrupt, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sandbox.Open(e.path); err == nil {
			t.Errorf("vendor_key %s accepted", bad)
		}
	}
}

// readSeed reads the vendor key seed from a state file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		VendorKey []byte `json:"vendor_key"`
	}
	if err := json.Unmarshal(data, &st); err != nil || len(st.VendorKey) != ed25519.SeedSize {
		t.Fatalf("vendor_key in the state file: %v (%d bytes)", err, len(st.VendorKey))
	}
	return st.VendorKey
}

// assertNoKey fails if text holds the private key in any usual spelling.
func assertNoKey(t *testing.T, what, text string, seed []byte) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(seed)
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(seed), base64.RawURLEncoding.EncodeToString(seed),
		hex.EncodeToString(seed), base64.StdEncoding.EncodeToString(priv),
		base64.RawURLEncoding.EncodeToString(priv), hex.EncodeToString(priv), string(seed),
	} {
		if strings.Contains(text, enc) {
			t.Errorf("%s holds the vendor private key", what)
		}
	}
}

func TestUpdateManifest(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	// The manifest is a compact JWS signed with the vendor key, made out to
	// the app asked for.
	verify := func(raw []byte, key ed25519.PublicKey) wire.Manifest {
		t.Helper()
		payload, err := token.VerifyPayload(string(raw), key, wire.ManifestType)
		if err != nil {
			t.Fatalf("manifest %s: %v", raw, err)
		}
		var m wire.Manifest
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		var keys map[string]any
		json.Unmarshal(payload, &keys)
		if len(keys) != 6 {
			t.Errorf("manifest keys: %s", payload)
		}
		return m
	}
	manifest := func() wire.Manifest {
		t.Helper()
		status, h, raw := e.get(wire.PathUpdateManifest + "?app=CAD%20Pro")
		if status != http.StatusOK || h.Get("Content-Type") != wire.ManifestContentType {
			t.Fatalf("manifest: %d %s %s", status, h.Get("Content-Type"), raw)
		}
		return verify(raw, e.srv.VendorPublicKey())
	}
	pkg := func() []byte {
		t.Helper()
		status, h, body := e.get(wire.PathUpdatePackage)
		if status != http.StatusOK || h.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("package: %d %s", status, h.Get("Content-Type"))
		}
		return body
	}
	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	m := manifest()
	want := wire.Manifest{App: "CAD Pro", Version: sandbox.DefaultManifestVersion, URL: e.url + wire.PathUpdatePackage,
		SHA256: digest(pkg()), Size: int64(len(pkg())), Force: false}
	if m != want {
		t.Errorf("default manifest = %+v, want %+v", m, want)
	}
	// That the client accepts it is TestFetchManifestFromSandbox's (package
	// marketplace_test): this package's tests do not use the client.
	if !bytes.Equal(pkg(), pkg()) || len(pkg()) == 0 {
		t.Error("the default package is not deterministic")
	}
	if other := newEnv(t, sandbox.Config{}); digest(pkg()) != func() string {
		_, _, b := other.get(wire.PathUpdatePackage)
		return digest(b)
	}() {
		t.Error("two sandboxes serve different default packages")
	}

	content := []byte("a newer build\x00\xff")
	if err := e.srv.SetManifest(sandbox.Manifest{Version: "3.1.0", Force: true, Package: content}); err != nil {
		t.Fatal(err)
	}
	content[0] = 'X' // SetManifest keeps its own copy
	m = manifest()
	if m.Version != "3.1.0" || !m.Force || m.SHA256 != digest([]byte("a newer build\x00\xff")) || m.Size != int64(len(content)) {
		t.Errorf("manifest after SetManifest = %+v", m)
	}
	if got := pkg(); string(got) != "a newer build\x00\xff" {
		t.Errorf("package = %q", got)
	}
	again, err := sandbox.Open(e.path)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, wire.PathUpdateManifest+"?app=x", nil)
	r.Host = "127.0.0.1:8790"
	again.Handler().ServeHTTP(w, r)
	if got := verify(w.Body.Bytes(), again.VendorPublicKey()); got.Version != "3.1.0" || got.SHA256 != m.SHA256 {
		t.Errorf("manifest after a reopen: %+v", got)
	}

	wrong := strings.Repeat("ab", 32)
	if err := e.srv.SetManifest(sandbox.Manifest{Version: "4.0.0", SHA256: strings.ToUpper(wrong)}); err != nil {
		t.Fatal(err)
	}
	if m := manifest(); m.SHA256 != wrong || digest(pkg()) == wrong {
		t.Errorf("announced digest %s, package digest %s", m.SHA256, digest(pkg()))
	}

	for _, bad := range []sandbox.Manifest{
		{},
		{Version: "1\n2"},
		{Version: strings.Repeat("9", 65)},
		// Only the strict form the client accepts (internal/semver).
		{Version: "1"},
		{Version: "v2.0.0"},
		{Version: "9/../../../autostart/evil"},
		{Version: "1.0.0", SHA256: "abc"},
		{Version: "1.0.0", SHA256: strings.Repeat("zz", 32)},
		{Version: "1.0.0", Package: make([]byte, sandbox.MaxPackageBytes+1)},
	} {
		if err := e.srv.SetManifest(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("SetManifest(%.40q): %v, want Invalid", bad.Version, err)
		}
	}
}

func TestUpdateManifestRefusals(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	for _, c := range []struct {
		name       string
		path       string
		header     []string
		wantStatus int
		wantCode   string
		wantAllow  string
	}{
		{"no app", wire.PathUpdateManifest, nil, 400, wire.CodeRequestInvalid, ""},
		{"empty app", wire.PathUpdateManifest + "?app=", nil, 400, wire.CodeRequestInvalid, ""},
		{"app with a control character", wire.PathUpdateManifest + "?app=a%07", nil, 400, wire.CodeRequestInvalid, ""},
		{"app too long", wire.PathUpdateManifest + "?app=" + strings.Repeat("a", 129), nil, 400, wire.CodeRequestInvalid, ""},
		{"bad query", wire.PathUpdateManifest + "?app=%zz", nil, 400, wire.CodeRequestInvalid, ""},
		{"foreign Host", wire.PathUpdateManifest + "?app=x", []string{"Host", "evil.example:80"}, 400, wire.CodeRequestInvalid, ""},
		{"localhost Host", wire.PathUpdateManifest + "?app=x", []string{"Host", "localhost:9"}, 200, "", ""},
		{"trailing slash", wire.PathUpdateManifest + "/?app=x", nil, 404, wire.GatewayNotFound, ""},
		{"GET on the license API", wire.PathActivate, nil, 405, wire.CodeMethodNotSupported, "POST"},
		{"GET on the device license", wire.PathDeviceLicense, nil, 405, wire.CodeMethodNotSupported, "POST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			status, h, raw := e.get(c.path, c.header...)
			if status != c.wantStatus {
				t.Fatalf("%d %s, want %d", status, raw, c.wantStatus)
			}
			if c.wantCode != "" {
				var env wire.Envelope[json.RawMessage]
				json.Unmarshal(raw, &env)
				if env.ErrorCode != c.wantCode {
					t.Errorf("%s, want %s", raw, c.wantCode)
				}
				assertErrorShape(t, raw)
			}
			if h.Get("Allow") != c.wantAllow {
				t.Errorf("Allow %q, want %q", h.Get("Allow"), c.wantAllow)
			}
		})
	}
	// POSTs to the GET-only paths are refused as such, signed or not.
	for _, p := range []string{wire.PathUpdateManifest, wire.PathUpdatePackage} {
		got := e.post(p, `{}`)
		if got.status != http.StatusMethodNotAllowed || got.env.ErrorCode != wire.CodeMethodNotSupported {
			t.Errorf("POST %s: %d %s", p, got.status, got.raw)
		}
	}
}

// Neither the SK nor the vendor private key appears in the log or in any
// answer of the extension, whatever the request.
func TestExtensionNeverLeaksKeys(t *testing.T) {
	var logs testutil.LockedBuffer
	e := newEnv(t, sandbox.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	seed := readSeed(t, e.path)
	sk := e.srv.Credentials().SK
	active := e.code(sandbox.StateActive, 0)
	var answers []string
	for _, c := range []call{
		{path: wire.PathDeviceLicense, body: deviceBody(active, testDev, "")},
		{path: wire.PathDeviceLicense, body: deviceBody(e.code(sandbox.StateExpired, 0), testDev, "")},
		{path: wire.PathDeviceLicense, body: deviceBody(active, testDev, "x")},
		{path: wire.PathDeviceLicense, body: deviceBody(active, testDev, ""), unsigned: true},
		{path: wire.PathVendorKey, body: `{}`},
		{path: wire.PathVendorKey, body: `{`},
	} {
		answers = append(answers, string(e.send(c).raw))
	}
	for _, p := range []string{wire.PathVendorKey, wire.PathUpdateManifest + "?app=x", wire.PathUpdatePackage} {
		_, _, raw := e.get(p)
		answers = append(answers, string(raw))
	}
	all := logs.String() + strings.Join(answers, "\n")
	assertNoKey(t, "log or answers", all, seed)
	if strings.Contains(all, sk) {
		t.Error("log or answers hold the SK")
	}
	if strings.Contains(logs.String(), testDev) {
		t.Error("the log holds the device fingerprint")
	}
	if !strings.Contains(logs.String(), "path="+wire.PathDeviceLicense) || !strings.Contains(logs.String(), "license="+active) {
		t.Errorf("log lacks the device license requests:\n%s", logs.String())
	}
}
