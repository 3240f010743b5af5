package sandbox_test

// The sandbox accepts what the marketplace accepts: requests signed by
// Huawei's own Go SDK (github.com/huaweicloud/huaweicloud-sdk-go-v3, a
// test-only dependency), which signs every header it was given but
// Content-Type, and so host only when given a Host header.

import (
	"cmp"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// hwCall is a request as Huawei's SDK sends it: built by its request
// builder with Content-Type application/json and X-Sdk-Date at the sandbox
// clock, signed by its signer, turned into a net/http request by its own
// code.
type hwCall struct {
	method   string // POST unless set
	path     string
	query    map[string]any
	headers  map[string]string
	body     any  // a string, sent as is, or a value the SDK encodes as JSON
	signHost bool // give the SDK a Host header, so that it signs host
	tamper   func(r *http.Request)
}

// hwSend sends c and returns the answer and the Authorization header the SDK
// made.
func (e *env) hwSend(c hwCall) (reply, string) {
	e.t.Helper()
	b := request.NewHttpRequestBuilder().WithMethod(cmp.Or(c.method, http.MethodPost)).
		WithEndpoint(e.url).WithPath(c.path).
		AddHeaderParam("Content-Type", "application/json").
		AddHeaderParam(signer.HeaderXDate, e.clock.Now().UTC().Format(signer.BasicDateFormat))
	if c.signHost {
		b.AddHeaderParam("Host", e.host())
	}
	for k, v := range c.headers {
		b.AddHeaderParam(k, v)
	}
	for k, v := range c.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	if c.body != nil {
		b.WithBody("body", c.body)
	}
	req := b.Build()
	cred := e.srv.Credentials()
	added, err := signer.Sign(req, cred.AK, cred.SK)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range added {
		req.AddHeaderParam(k, v)
	}
	r, err := req.ConvertRequest()
	if err != nil {
		e.t.Fatal(err)
	}
	if c.tamper != nil {
		c.tamper(r)
	}
	return e.do(r), added[signer.HeaderAuthorization]
}

// host is the sandbox's host:port.
func (e *env) host() string {
	u, err := url.Parse(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Host
}

func TestHuaweiSDKSignaturesAccepted(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	active := e.code(sandbox.StateActive, 0)
	one := 1
	tests := []struct {
		name   string
		call   hwCall
		signed string // the header set the SDK signs
	}{
		{"query, x-sdk-date alone", hwCall{path: wire.PathQuery, body: licenseBody(active)}, "x-sdk-date"},
		{"activate, a body the SDK encodes", hwCall{path: wire.PathActivate,
			body: &wire.ActivateRequest{License: e.code(sandbox.StateReady, 0)}}, "x-sdk-date"},
		{"usage report", hwCall{path: wire.PathUsage, body: wire.UsageRequest{UsageInfo: []wire.UsageEntry{
			{License: active, SoftwareUsageInfo: []wire.UsageItem{{ID: "device-1"}, {ActiveNum: &one}}}}}}, "x-sdk-date"},
		{"POST with a query to escape", hwCall{path: wire.PathQuery, body: licenseBody(active),
			query: map[string]any{"limit": 1, "q": "一 (&=?!#%.*)", "tag": []string{"b", "a"}}}, "x-sdk-date"},
		{"host signed", hwCall{path: wire.PathQuery, body: licenseBody(active), signHost: true}, "host;x-sdk-date"},
		{"host and x-stage signed", hwCall{path: wire.PathQuery, body: licenseBody(active), signHost: true,
			headers: map[string]string{"X-Stage": "RELEASE"}}, "host;x-sdk-date;x-stage"},
		{"x-stage signed, not host", hwCall{path: wire.PathQuery, body: licenseBody(active),
			headers: map[string]string{"X-Stage": "RELEASE"}}, "x-sdk-date;x-stage"},
		{"extension: vendor key", hwCall{path: wire.PathVendorKey, body: "{}"}, "x-sdk-date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			got, auth := e.hwSend(tt.call)
			if !strings.Contains(auth, " SignedHeaders="+tt.signed+",") {
				t.Errorf("the SDK signed %q, want %s", auth, tt.signed)
			}
			if got.status != http.StatusOK || got.env.ErrorCode != wire.CodeSuccess {
				t.Fatalf("answer %d %s, want 200 %s: %s", got.status, got.env.ErrorCode, wire.CodeSuccess, got.raw)
			}
		})
	}

	// GETs are served on the extension's public paths only, without a
	// signature check: one the SDK signed is answered like any other. (That
	// Verify accepts the SDK's signature of a GET with a query is
	// TestHuaweiSignerAgrees, package aksk.)
	e.t = t
	got, _ := e.hwSend(hwCall{method: http.MethodGet, path: wire.PathUpdateManifest, query: map[string]any{"app": "CAD Pro"}})
	if got.status != http.StatusOK || !strings.Contains(jwsPayload(string(got.raw)), `"version"`) {
		t.Errorf("GET manifest signed by the SDK: %d %s", got.status, got.raw)
	}
}

// Changing a header after signing is harmless when the header is not signed
// and refused when it is; a signature whose header set lacks x-sdk-date is
// refused however right it is.
func TestHuaweiSDKTampering(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	body := licenseBody(e.code(sandbox.StateActive, 0))
	otherHost := func(r *http.Request) { r.Host = strings.Replace(e.host(), "127.0.0.1", "localhost", 1) }
	stage := map[string]string{"X-Stage": "RELEASE"}
	const badSignature, malformed = "verify aksk signature fail", "malformed"
	tests := []struct {
		name    string
		call    hwCall
		wantMsg string // "" for success
	}{
		{"Content-Type with a charset (never signed by the SDK)", hwCall{tamper: func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json;charset=UTF-8")
		}}, ""},
		{"unsigned X-Stage added", hwCall{tamper: func(r *http.Request) { r.Header.Set("X-Stage", "TEST") }}, ""},
		{"User-Agent changed", hwCall{tamper: func(r *http.Request) { r.Header.Set("User-Agent", "other") }}, ""},
		{"Host changed, host not signed", hwCall{tamper: otherHost}, ""},
		{"Host changed, host signed", hwCall{signHost: true, tamper: otherHost}, badSignature},
		{"signed X-Stage changed", hwCall{headers: stage, tamper: func(r *http.Request) { r.Header.Set("X-Stage", "TEST") }}, badSignature},
		{"signed X-Stage removed", hwCall{headers: stage, tamper: func(r *http.Request) { r.Header.Del("X-Stage") }}, badSignature},
		{"X-Sdk-Date a second later", hwCall{tamper: func(r *http.Request) {
			r.Header.Set(aksk.DateHeader, e.clock.Now().Add(time.Second).UTC().Format(aksk.DateFormat))
		}}, badSignature},
		{"query added", hwCall{tamper: func(r *http.Request) { r.URL.RawQuery = "limit=2" }}, badSignature},
		{"query changed", hwCall{query: map[string]any{"limit": 1}, tamper: func(r *http.Request) { r.URL.RawQuery = "limit=2" }}, badSignature},
		{"body changed", hwCall{tamper: func(r *http.Request) {
			b := licenseBody(e.code(sandbox.StateReady, 0))
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
		}}, badSignature},
		{"signed headers without x-sdk-date, the signature right", hwCall{signHost: true, headers: stage,
			tamper: func(r *http.Request) {
				signed := []string{"host", "x-stage"}
				sig, err := aksk.Signature(r, []byte(body), e.srv.Credentials().SK, signed)
				if err != nil {
					t.Fatal(err)
				}
				r.Header.Set("Authorization", aksk.Algorithm+" Access="+e.srv.Credentials().AK+
					", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
			}}, malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			tt.call.path, tt.call.body = wire.PathQuery, body
			got, _ := e.hwSend(tt.call)
			if tt.wantMsg == "" {
				if got.status != http.StatusOK || got.env.ErrorCode != wire.CodeSuccess {
					t.Fatalf("answer %d %s, want 200 %s: %s", got.status, got.env.ErrorCode, wire.CodeSuccess, got.raw)
				}
				return
			}
			if got.status != http.StatusUnauthorized || got.env.ErrorCode != wire.GatewayBadSignature ||
				!strings.Contains(got.env.ErrorMsg, tt.wantMsg) {
				t.Fatalf("answer %d %s %q, want 401 %s (%s): %s", got.status, got.env.ErrorCode, got.env.ErrorMsg,
					wire.GatewayBadSignature, tt.wantMsg, got.raw)
			}
		})
	}
}

// jwsPayload returns the decoded payload of a compact JWS, or "".
func jwsPayload(jws string) string {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	return string(b)
}
