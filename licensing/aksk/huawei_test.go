package aksk_test

// Cross-checks against Huawei's own Go signer
// (github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer), the one
// the marketplace's Go SDK signs with. It is a test-only dependency: no
// package outside the tests imports it (internal/layers checks this).

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/iscdesk/iscdesk/licensing/aksk"
)

// hwCase is one request, described once and built twice: by Huawei's
// request builder and, independently, as a net/http request.
type hwCase struct {
	name     string
	method   string
	endpoint string
	path     string         // unescaped, as Huawei's builder takes it
	query    map[string]any // string or []string
	headers  map[string]string
	body     string
	// want is the signature when the case is a published vector.
	want string
	// sameAsSign: the header set Huawei signs is the one aksk.Sign signs
	// (host given, no Content-Type, no header with '_'), so the whole
	// Authorization headers must be equal.
	sameAsSign bool
}

var hwDate = time.Date(2026, 3, 17, 14, 42, 37, 0, time.UTC)

var hwCases = []hwCase{
	{name: "vector B: GET with query, x-sdk-date alone", method: http.MethodGet,
		endpoint: "https://example.huaweicloud.com", path: "/path", query: map[string]any{"limit": "1"},
		headers: map[string]string{aksk.DateHeader: "20060102T150405Z"},
		want:    "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"},
	{name: "vector C: POST with body, x-sdk-date alone", method: http.MethodPost,
		endpoint: "https://example.huaweicloud.com", path: "/path", query: map[string]any{"key": "value"},
		headers: map[string]string{aksk.DateHeader: "20060102T150405Z"}, body: "{\"Name\":\"test\",\"Id\":1}\n",
		want: "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"},
	{name: "GET, query to escape, repeated and empty values", method: http.MethodGet,
		endpoint: "https://mkt.myhuaweicloud.com", path: "/api/iscdesk/v1/update-manifest",
		query: map[string]any{"app": "一 (&=?!#%.*)", "tag": []string{"b", "a"}, "empty": "", "limit": "10"}},
	{name: "POST, JSON body, Content-Type (never signed by the SDK) and an underscore header (skipped)",
		method: http.MethodPost, endpoint: "https://mkt.myhuaweicloud.com",
		path:    "/api/mkp-openapi-public/global/v1/license/heartbeat",
		headers: map[string]string{"Content-Type": "application/json;charset=UTF-8", "X_Trace": "1", "x-stage": "RELEASE"},
		body:    `{"license":"PL0123456789ABCDEF"}`},
	{name: "POST, host and x-stage signed", method: http.MethodPost, endpoint: "https://mkt.myhuaweicloud.com",
		path:    "/api/mkp-openapi-public/global/v1/license/activate",
		headers: map[string]string{"Host": "mkt.myhuaweicloud.com", "X-Stage": "RELEASE"},
		body:    `{"license":"PL0123456789ABCDEF","real_effect_time":"20260317144237"}`, sameAsSign: true},
	{name: "GET, path segments to escape, host signed", method: http.MethodGet, endpoint: "http://127.0.0.1:8080",
		path: "/api/a b/ü~x", query: map[string]any{"q": "a+b c"},
		headers: map[string]string{"Host": "127.0.0.1:8080"}, sameAsSign: true},
}

// hwSign signs c with Huawei's signer and returns its X-Sdk-Date and
// Authorization headers.
func hwSign(t *testing.T, c hwCase, cred aksk.Credentials) (date, auth string) {
	t.Helper()
	b := request.NewHttpRequestBuilder().WithMethod(c.method).WithEndpoint(c.endpoint).WithPath(c.path)
	for k, v := range c.query {
		b.AddQueryParam(k, reflect.ValueOf(v))
	}
	if _, ok := c.headers[aksk.DateHeader]; !ok {
		b.AddHeaderParam(aksk.DateHeader, hwDate.Format(aksk.DateFormat))
	}
	for k, v := range c.headers {
		b.AddHeaderParam(k, v)
	}
	if c.body != "" {
		b.WithBody("body", c.body)
	}
	h, err := signer.Sign(b.Build(), cred.AK, cred.SK)
	if err != nil {
		t.Fatal(err)
	}
	return h[signer.HeaderXDate], h[signer.HeaderAuthorization]
}

// netRequest builds c as the server sees it, without Huawei's code: Host
// goes to r.Host, every other header to r.Header.
func netRequest(c hwCase, date string) *http.Request {
	q := url.Values{}
	for k, v := range c.query {
		switch v := v.(type) {
		case string:
			q.Add(k, v)
		case []string:
			q[k] = append(q[k], v...)
		}
	}
	u := c.endpoint + (&url.URL{Path: c.path}).EscapedPath()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r := httptest.NewRequest(c.method, u, strings.NewReader(c.body))
	r.Header = http.Header{}
	for k, v := range c.headers {
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	r.Header.Set(aksk.DateHeader, date)
	return r
}

// Huawei's signer and this package agree: on the published vectors, on the
// signature over whatever header set Huawei chose, on the whole
// Authorization header where both sign the same set, and Verify accepts
// what Huawei signed.
func TestHuaweiSignerAgrees(t *testing.T) {
	cred := aksk.Credentials{AK: "AccessKey", SK: "SecretKey"}
	for _, c := range hwCases {
		t.Run(c.name, func(t *testing.T) {
			date, auth := hwSign(t, c, cred)
			a, err := aksk.ParseAuthorization(auth)
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", auth, err)
			}
			if c.want != "" && a.Signature != c.want {
				t.Errorf("Huawei's signature %s, published %s", a.Signature, c.want)
			}
			r := netRequest(c, date)
			got, err := aksk.Signature(r, []byte(c.body), cred.SK, a.SignedHeaders)
			if err != nil {
				t.Fatal(err)
			}
			if got != a.Signature {
				cr, _ := aksk.CanonicalRequest(r, []byte(c.body), a.SignedHeaders)
				t.Errorf("signature over %v = %s, Huawei's %s\ncanonical request:\n%s", a.SignedHeaders, got, a.Signature, cr)
			}

			now, err := time.Parse(aksk.DateFormat, date)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", auth)
			lookup := func(ak string) (string, bool) { return cred.SK, ak == cred.AK }
			if _, err := aksk.Verify(r, []byte(c.body), lookup, now.Add(time.Minute)); err != nil {
				t.Errorf("Verify of Huawei's signature: %v", err)
			}

			if !c.sameAsSign {
				return
			}
			r = netRequest(c, date)
			if err := aksk.Sign(r, []byte(c.body), cred, now); err != nil {
				t.Fatal(err)
			}
			if ours := r.Header.Get("Authorization"); ours != auth {
				t.Errorf("aksk.Sign:\n %s\nHuawei's signer:\n %s", ours, auth)
			}
		})
	}
}

func TestParseAuthorizationSignedHeaders(t *testing.T) {
	const prefix = aksk.Algorithm + " Access=AK, SignedHeaders="
	const suffix = ", Signature=00"
	for _, tt := range []struct {
		signed string
		ok     bool
	}{
		{"x-sdk-date", true},
		{"host;x-sdk-date", true},
		{"content-type;x-sdk-date;x-stage", true},
		{"host", false},
		{"content-type;host;x-stage", false},
		{"X-Sdk-Date", false}, // names are lower case
		{"", false},
	} {
		a, err := aksk.ParseAuthorization(prefix + tt.signed + suffix)
		if tt.ok && (err != nil || !slices.Equal(a.SignedHeaders, strings.Split(tt.signed, ";"))) {
			t.Errorf("%q: %v, %v", tt.signed, a.SignedHeaders, err)
		}
		if !tt.ok && !errors.Is(err, aksk.ErrMalformed) {
			t.Errorf("%q: %v, want %v", tt.signed, err, aksk.ErrMalformed)
		}
	}
}
