package marketplace

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// A single-unit devInfo goes with the machine id, which the token must
// carry: an issuer that drops it (or binds another) would hand out a license
// the vendor's program refuses.
func TestIssueDeviceLicenseMachineID(t *testing.T) {
	const vmDev = "52:54:00:00:00:01|||CPU-1"
	mid := strings.Repeat("ab", 32)
	header := `{"alg":"EdDSA","typ":"JWT"}`
	withMID := func(m string) string {
		b, _ := json.Marshal(map[string]any{"sub": testCode, "dev": vmDev, "mid": m, "exp": 4102444800})
		return jwsOf(header, string(b))
	}
	good := withMID(mid)
	f := newFakeServer(t, reply(200, tokenAnswer(good)))
	c := newTestClient(t, f.srv.URL)
	tok, err := c.IssueDeviceLicense(context.Background(), DeviceLicenseRequest{License: testCode, DevInfo: vmDev, Machine: mid})
	c.checkErr(err)
	if err != nil || tok != good {
		t.Fatalf("IssueDeviceLicense = %q, %v", tok, err)
	}
	if !strings.Contains(string(f.seen()[0].body), `"machine":"`+mid+`"`) {
		t.Errorf("body %s without the machine id", f.seen()[0].body)
	}
	for name, answer := range map[string]string{
		"machine id dropped": withMID(""),
		"another machine id": withMID(strings.Repeat("cd", 32)),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, tokenAnswer(answer)))
			c := newTestClient(t, f.srv.URL)
			tok, err := c.IssueDeviceLicense(context.Background(), DeviceLicenseRequest{License: testCode, DevInfo: vmDev, Machine: mid})
			c.checkErr(err)
			wantKind(t, err, errs.Protocol)
			if tok != "" {
				t.Errorf("token %q returned with an error", tok)
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
