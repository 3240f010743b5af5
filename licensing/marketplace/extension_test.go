package marketplace

import (
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

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

const testDev = "00:11:22:33:44:55|DISK-1|BOARD-1|CPU-1"

func (c testClient) issue(ctx context.Context, code, dev string) (string, error) {
	token, err := c.IssueDeviceLicense(ctx, DeviceLicenseRequest{License: code, DevInfo: dev})
	c.checkErr(err)
	return token, err
}

// jwsOf builds a compact JWS from raw header and claims with a throwaway key.
func jwsOf(header, claims string) string {
	_, priv, _ := ed25519.GenerateKey(nil)
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(claims))
	return signing + "." + enc(ed25519.Sign(priv, []byte(signing)))
}

func tokenAnswer(token string) string {
	b, _ := json.Marshal(map[string]any{"error_code": wire.CodeSuccess, "error_msg": "success", "data": map[string]string{"token": token}})
	return string(b)
}

func TestIssueDeviceLicenseRequest(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	good, err := token.Sign(priv, token.Claims{License: testCode, DevInfo: testDev, Expires: 4102444800})
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){
		wire.PathDeviceLicense: reply(200, tokenAnswer(good)),
	}))
	c := newTestClient(t, f.srv.URL)
	notAfter := time.Date(2027, 1, 2, 3, 4, 5, 999e6, time.FixedZone("x", 3600))
	token, err := c.IssueDeviceLicense(context.Background(), DeviceLicenseRequest{License: testCode, DevInfo: testDev, NotAfter: notAfter})
	c.checkErr(err)
	if err != nil || token != good {
		t.Fatalf("IssueDeviceLicense = %q, %v", token, err)
	}
	var body map[string]any
	if err := json.Unmarshal(f.seen()[0].body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"license": testCode, "dev_info": testDev, "not_after": "20270102020405"}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body = %v, want %v", body, want)
	}
	if _, err := c.issue(context.Background(), testCode, testDev); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.seen()[1].body), "not_after") {
		t.Errorf("not_after sent without NotAfter: %s", f.seen()[1].body)
	}
}

// Answers that are not a device license for this code and device are
// Protocol errors.
func TestIssueDeviceLicenseBadTokens(t *testing.T) {
	claims := func(sub, dev string) string {
		b, _ := json.Marshal(map[string]any{"sub": sub, "dev": dev, "exp": 4102444800})
		return string(b)
	}
	header := `{"alg":"EdDSA","typ":"JWT"}`
	good := jwsOf(header, claims(testCode, testDev))
	parts := strings.Split(good, ".")
	for name, answer := range map[string]string{
		"no data":              `{"error_code":"92020000","error_msg":"success"}`,
		"token not a string":   `{"error_code":"92020000","data":{"token":5}}`,
		"empty token":          tokenAnswer(""),
		"two parts":            tokenAnswer(parts[0] + "." + parts[1]),
		"four parts":           tokenAnswer(good + ".x"),
		"alg none":             tokenAnswer(jwsOf(`{"alg":"none"}`, claims(testCode, testDev))),
		"alg HS256":            tokenAnswer(jwsOf(`{"alg":"HS256"}`, claims(testCode, testDev))),
		"header not JSON":      tokenAnswer(base64.RawURLEncoding.EncodeToString([]byte("x")) + "." + parts[1] + "." + parts[2]),
		"header not base64url": tokenAnswer("%%%." + parts[1] + "." + parts[2]),
		"claims not JSON":      tokenAnswer(parts[0] + ".bm90IGpzb24." + parts[2]),
		"another code":         tokenAnswer(jwsOf(header, claims("PLOTHER", testDev))),
		"another device":       tokenAnswer(jwsOf(header, claims(testCode, "AA|BB|CC|DD"))),
		"short signature":      tokenAnswer(parts[0] + "." + parts[1] + ".AAAA"),
		"huge token":           tokenAnswer(parts[0] + "." + strings.Repeat("A", token.MaxBytes) + "." + parts[2]),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, answer))
			c := newTestClient(t, f.srv.URL)
			token, err := c.issue(context.Background(), testCode, testDev)
			wantKind(t, err, errs.Protocol)
			if token != "" {
				t.Errorf("token %q returned with an error", token)
			}
			if f.total() != 1 {
				t.Errorf("%d requests, want 1 (a bad answer is not retried)", f.total())
			}
		})
	}
}

// A refusal for the code's state becomes Expired or Released once a query
// confirms it; without that confirmation it stays what it was.
func TestIssueDeviceLicenseIllegalState(t *testing.T) {
	refused := codeAnswer(wire.CodeIllegalState, "illegal state: license code is EXPIRED")
	for _, tc := range []struct {
		name  string
		query func(http.ResponseWriter, *http.Request, int)
		kind  errs.Kind
	}{
		{"expired", reply(200, queryOK("EXPIRED")), errs.Expired},
		{"released", reply(200, queryOK("RELEASED")), errs.Released},
		{"alive after all", reply(200, queryOK("ALIVE")), errs.Other},
		{"query fails", reply(200, codeAnswer(wire.CodeNotExist, "gone")), errs.Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){
				wire.PathDeviceLicense: reply(200, refused),
				wire.PathQuery:         tc.query,
			}))
			c := newTestClient(t, f.srv.URL)
			_, err := c.issue(context.Background(), testCode, testDev)
			wantKind(t, err, tc.kind)
			var le *errs.Error
			if !errors.As(err, &le) || le.Code != wire.CodeIllegalState || le.Op != opDeviceLicense {
				t.Errorf("error %#v", err)
			}
			if f.count(wire.PathQuery) != 1 {
				t.Errorf("%d queries, want 1", f.count(wire.PathQuery))
			}
		})
	}
}

// The device license call shares the license API's machinery: transient
// answers are retried (and re-signed), redirects refused, unknown gateway
// answers classified by the one result table.
func TestIssueDeviceLicenseSharesCallPath(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	good, _ := token.Sign(priv, token.Claims{License: testCode, DevInfo: testDev, Expires: 4102444800})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			writeJSON(w, 200, codeAnswer(wire.CodeInternal, "busy"))
			return
		}
		writeJSON(w, 200, tokenAnswer(good))
	})
	c := newTestClient(t, f.srv.URL)
	if token, err := c.issue(context.Background(), testCode, testDev); err != nil || token != good || f.total() != 3 {
		t.Errorf("after two transient failures: %q, %v, %d requests", token, err, f.total())
	}

	redirect := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, "https://elsewhere.example/api", http.StatusTemporaryRedirect)
	})
	c = newTestClient(t, redirect.srv.URL)
	_, err := c.issue(context.Background(), testCode, testDev)
	wantKind(t, err, errs.Protocol)
	_, err = c.VendorKey(context.Background())
	c.checkErr(err)
	wantKind(t, err, errs.Protocol)

	bad := newFakeServer(t, reply(401, `{"error_code":"APIGW.0301","error_msg":"bad signature"}`))
	c = newTestClient(t, bad.srv.URL)
	_, err = c.issue(context.Background(), testCode, testDev)
	wantKind(t, err, errs.Credentials)
}

func TestVendorKeyAnswers(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	answer := func(alg, key string) string {
		b, _ := json.Marshal(map[string]any{"error_code": wire.CodeSuccess, "data": map[string]string{"alg": alg, "public_key": key}})
		return string(b)
	}
	std := base64.StdEncoding.EncodeToString(pub)
	for _, tc := range []struct {
		name   string
		answer string
		ok     bool
	}{
		{"standard base64", answer("EdDSA", std), true},
		{"without padding", answer("EdDSA", strings.TrimRight(std, "=")), true},
		{"other algorithm", answer("ES256", std), false},
		{"alg in lower case", answer("eddsa", std), false},
		{"31 bytes", answer("EdDSA", base64.StdEncoding.EncodeToString(pub[:31])), false},
		{"33 bytes", answer("EdDSA", base64.StdEncoding.EncodeToString(append(pub, 0))), false},
		{"not base64", answer("EdDSA", "not base64!"), false},
		{"no data", `{"error_code":"92020000"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){wire.PathVendorKey: reply(200, tc.answer)}))
			c := newTestClient(t, f.srv.URL)
			key, err := c.VendorKey(context.Background())
			c.checkErr(err)
			if tc.ok {
				if err != nil || !key.Equal(pub) {
					t.Fatalf("VendorKey = %x, %v", key, err)
				}
				if body := string(f.seen()[0].body); body != "{}" {
					t.Errorf("body %q, want {}", body)
				}
				return
			}
			wantKind(t, err, errs.Protocol)
		})
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
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

const goodSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func manifestJSON(version, url, sha string, force bool) string {
	b, _ := json.Marshal(wire.Manifest{Version: version, URL: url, SHA256: sha, Force: force})
	return string(b)
}

func TestFetchManifest(t *testing.T) {
	ctx := context.Background()
	good := manifestJSON("2.0.0", "https://cdn.example/app-2.0.0.exe", goodSHA, true)
	padded := good[:len(good)-1] + `,"notes":"` + strings.Repeat("x", MaxManifestBytes-len(good)-11) + `"}`
	if len(padded) != MaxManifestBytes {
		t.Fatalf("padded manifest of %d bytes", len(padded))
	}
	tests := []struct {
		name   string
		status int
		body   string
		kind   errs.Kind // Other: success expected
		want   wire.Manifest
	}{
		{"good", 200, good, errs.Other, wire.Manifest{Version: "2.0.0", URL: "https://cdn.example/app-2.0.0.exe", SHA256: goodSHA, Force: true}},
		{"loopback http package", 200, manifestJSON("1.0", "http://127.0.0.1:9/p", goodSHA, false), errs.Other,
			wire.Manifest{Version: "1.0", URL: "http://127.0.0.1:9/p", SHA256: goodSHA}},
		{"upper-case digest normalised", 200, manifestJSON(" 2.0.0 ", "https://cdn.example/p", strings.ToUpper(goodSHA), false), errs.Other,
			wire.Manifest{Version: "2.0.0", URL: "https://cdn.example/p", SHA256: goodSHA}},
		{"unknown keys ignored", 200, `{"version":"3","url":"https://x.example/p","sha256":"` + goodSHA + `","force":false,"size":12}`, errs.Other,
			wire.Manifest{Version: "3", URL: "https://x.example/p", SHA256: goodSHA}},
		{"exactly 64 KiB", 200, padded, errs.Other, wire.Manifest{Version: "2.0.0", URL: "https://cdn.example/app-2.0.0.exe", SHA256: goodSHA, Force: true}},
		{"over 64 KiB", 200, padded + " ", errs.Protocol, wire.Manifest{}},
		{"sha256 too short", 200, manifestJSON("2", "https://x.example/p", goodSHA[:63], false), errs.Protocol, wire.Manifest{}},
		{"sha256 not hex", 200, manifestJSON("2", "https://x.example/p", strings.Repeat("g", 64), false), errs.Protocol, wire.Manifest{}},
		{"sha256 missing", 200, `{"version":"2","url":"https://x.example/p"}`, errs.Protocol, wire.Manifest{}},
		{"version missing", 200, manifestJSON("", "https://x.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"version with a control character", 200, manifestJSON("2\x1b[0m", "https://x.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"version too long", 200, manifestJSON(strings.Repeat("9", 65), "https://x.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"package over plain http", 200, manifestJSON("2", "http://cdn.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"package over ftp", 200, manifestJSON("2", "ftp://cdn.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"relative package url", 200, manifestJSON("2", "/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"package url with a password", 200, manifestJSON("2", "https://u:pw@cdn.example/p", goodSHA, false), errs.Protocol, wire.Manifest{}},
		{"force not a bool", 200, `{"version":"2","url":"https://x.example/p","sha256":"` + goodSHA + `","force":"yes"}`, errs.Protocol, wire.Manifest{}},
		{"not JSON", 200, `<html>`, errs.Protocol, wire.Manifest{}},
		{"array", 200, `[]`, errs.Protocol, wire.Manifest{}},
		{"null", 200, `null`, errs.Protocol, wire.Manifest{}},
		{"not found", 404, `{}`, errs.Protocol, wire.Manifest{}},
		{"server failing", 503, `{}`, errs.Unavailable, wire.Manifest{}},
		{"rate limited", 429, `{}`, errs.Unavailable, wire.Manifest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := manifestServer(t, tt.status, tt.body)
			m, err := FetchManifest(ctx, nil, ts.URL+"/manifest?app=x")
			if tt.kind == errs.Other {
				if err != nil || m != tt.want {
					t.Fatalf("FetchManifest = %+v, %v; want %+v", m, err, tt.want)
				}
				return
			}
			wantKind(t, err, tt.kind)
			if m != (wire.Manifest{}) {
				t.Errorf("manifest %+v returned with an error", m)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error of %d bytes", len(err.Error()))
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
		_, err := FetchManifest(context.Background(), hc, u)
		wantKind(t, err, errs.Invalid)
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats a password: %v", err)
		}
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	_, err := FetchManifest(context.Background(), insecure, "https://example.com/m")
	wantKind(t, err, errs.Invalid)
}

func TestFetchManifestRedirects(t *testing.T) {
	ts := manifestServer(t, 200, manifestJSON("2.0.0", "https://cdn.example/p", goodSHA, false))
	// To loopback http (and to https) a redirect is followed.
	m, err := FetchManifest(context.Background(), nil, ts.URL+"/redirect?to="+ts.URL+"/manifest")
	if err != nil || m.Version != "2.0.0" {
		t.Errorf("redirect on loopback: %+v, %v", m, err)
	}
	// To plain http elsewhere it is refused before any connection.
	_, err = FetchManifest(context.Background(), nil, ts.URL+"/redirect?to=http://example.com/manifest")
	wantKind(t, err, errs.Protocol)
	// A loop ends.
	_, err = FetchManifest(context.Background(), nil, ts.URL+"/loop")
	wantKind(t, err, errs.Protocol)
}

func TestFetchManifestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, manifestJSON("5", "https://cdn.example/p", goodSHA, false))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	ts.StartTLS()
	defer ts.Close()
	// The test server's own client trusts its certificate.
	if m, err := FetchManifest(context.Background(), ts.Client(), ts.URL+"/m"); err != nil || m.Version != "5" {
		t.Errorf("https with a trusted certificate: %+v, %v", m, err)
	}
	// The default client does not: verification is never skipped.
	_, err := FetchManifest(context.Background(), nil, ts.URL+"/m")
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
	_, err := FetchManifest(ctx, nil, ts.URL+"/m")
	wantKind(t, err, errs.Unavailable)
	if time.Since(start) > 5*time.Second {
		t.Error("FetchManifest outlived its context")
	}
}
