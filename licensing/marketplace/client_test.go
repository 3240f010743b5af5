package marketplace

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

func TestNewChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default endpoint", Config{}, true},
		{"https", Config{Endpoint: "https://mkt.example.com"}, true},
		{"https with prefix", Config{Endpoint: "https://gw.example.com/license/"}, true},
		{"http 127.0.0.1", Config{Endpoint: "http://127.0.0.1:8080"}, true},
		{"http 127.x", Config{Endpoint: "http://127.3.2.1:8080"}, true},
		{"http ::1", Config{Endpoint: "http://[::1]:8080"}, true},
		{"http localhost", Config{Endpoint: "http://localhost:8080"}, true},
		{"http LOCALHOST", Config{Endpoint: "http://LOCALHOST"}, true},
		{"http public host", Config{Endpoint: "http://mkt.myhuaweicloud.com"}, false},
		{"http private address", Config{Endpoint: "http://10.0.0.1:8080"}, false},
		{"http mapped non-loopback", Config{Endpoint: "http://[::ffff:10.0.0.1]"}, false},
		{"http localhost lookalike", Config{Endpoint: "http://localhost.example.com"}, false},
		{"http 0.0.0.0", Config{Endpoint: "http://0.0.0.0:8080"}, false},
		{"ftp", Config{Endpoint: "ftp://127.0.0.1"}, false},
		{"no scheme", Config{Endpoint: "mkt.myhuaweicloud.com"}, false},
		{"no host", Config{Endpoint: "https://"}, false},
		{"user info", Config{Endpoint: "https://" + testAK + ":" + testSK + "@mkt.example.com"}, false},
		{"query", Config{Endpoint: "https://mkt.example.com/?x=1"}, false},
		{"not a URL", Config{Endpoint: "https://[bad"}, false},
		{"proxy", Config{Proxy: "http://proxy.example.com:3128"}, true},
		{"socks proxy", Config{Proxy: "socks5://127.0.0.1:1080"}, true},
		{"proxy without host", Config{Proxy: "proxy"}, false},
		{"proxy bad scheme", Config{Proxy: "ftp://proxy:21"}, false},
		{"insecure HTTPClient", Config{HTTPClient: &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}, false},
		{"HTTPClient", Config{HTTPClient: &http.Client{}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.ok {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			wantKind(t, err, errs.Invalid)
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestNewEndpoints(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{DefaultEndpoint, FallbackEndpoint}; strings.Join(c.endpoints, " ") != strings.Join(want, " ") {
		t.Errorf("default endpoints %v, want %v", c.endpoints, want)
	}
	c, err = New(Config{Endpoint: "https://gw.example.com/license/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.endpoints) != 1 || c.endpoints[0] != "https://gw.example.com/license" {
		t.Errorf("configured endpoint: %v, want only https://gw.example.com/license (no fallback)", c.endpoints)
	}
}

func TestActivate(t *testing.T) {
	f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){
		wire.PathActivate: reply(200, activateOK),
	}))
	c := newTestClient(t, f.srv.URL)
	lic, err := c.activate(t.Context(), "  "+testCode+"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := licensing.License{
		Code: testCode, Status: licensing.StatusAlive, ProductID: "12345", OrderID: "CS123", Amount: 2,
		ExpireTime: time.Date(2027, 7, 26, 12, 16, 46, 0, time.UTC),
	}
	if lic != want {
		t.Errorf("license\n got %+v\nwant %+v", lic, want)
	}
	reqs := f.seen()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if got, want := string(reqs[0].body), `{"license":"`+testCode+`"}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if ua := reqs[0].header.Get("User-Agent"); ua != "iscdesk/test" {
		t.Errorf("User-Agent %q", ua)
	}
	if a := reqs[0].header.Get("Authorization"); !strings.HasPrefix(a, aksk.Algorithm+" Access="+testAK+", ") {
		t.Errorf("Authorization %q", a)
	}
}

func TestQueryStatuses(t *testing.T) {
	for _, status := range []licensing.Status{licensing.StatusAlive, licensing.StatusExpired, licensing.StatusReleased} {
		t.Run(string(status), func(t *testing.T) {
			f := newFakeServer(t, reply(200, queryOK(string(status))))
			c := newTestClient(t, f.srv.URL)
			lic, err := c.query(t.Context(), testCode)
			if err != nil {
				t.Fatalf("status %s must be returned as a license, not an error: %v", status, err)
			}
			want := licensing.License{
				Code: testCode, Status: status, ProductID: "12345", OrderID: "CS123",
				ActivateTime: time.Date(2025, 7, 26, 12, 16, 46, 0, time.UTC),
				ExpireTime:   time.Date(2027, 7, 26, 12, 16, 46, 0, time.UTC),
			}
			if lic != want {
				t.Errorf("license\n got %+v\nwant %+v", lic, want)
			}
			if f.count(wire.PathQuery) != 1 {
				t.Errorf("%d queries", f.count(wire.PathQuery))
			}
			if got, want := string(f.seen()[0].body), `{"license":"`+testCode+`"}`; got != want {
				t.Errorf("body %s, want %s", got, want)
			}
		})
	}
}

func TestQueryAnswers(t *testing.T) {
	data := func(d string) string { return `{"error_code":"92020000","error_msg":"success","data":` + d + `}` }
	tests := []struct {
		name, body string
		ok         bool
		expire     time.Time
	}{
		{"RFC 3339 with offset", data(`{"status":"ALIVE","expire_time":"2027-07-26T20:16:46+08:00"}`), true,
			time.Date(2027, 7, 26, 12, 16, 46, 0, time.UTC)},
		{"no times", data(`{"status":"ALIVE"}`), true, time.Time{}},
		{"time as number", data(`{"status":"ALIVE","expire_time":20270726121646}`), true,
			time.Date(2027, 7, 26, 12, 16, 46, 0, time.UTC)},
		{"unknown keys", data(`{"status":"ALIVE","new":{"x":[1,2]},"license_code":"` + testCode + `"}`), true, time.Time{}},
		{"code in other case", data(`{"status":"ALIVE","license_code":"` + strings.ToLower(testCode) + `"}`), true, time.Time{}},
		{"unknown status", data(`{"status":"SUSPENDED"}`), false, time.Time{}},
		{"lower-case status", data(`{"status":"alive"}`), false, time.Time{}},
		{"no status", data(`{"expire_time":"20270726121646"}`), false, time.Time{}},
		{"null data", data(`null`), false, time.Time{}},
		{"no data", `{"error_code":"92020000","error_msg":"success"}`, false, time.Time{}},
		{"data not an object", data(`"ALIVE"`), false, time.Time{}},
		{"other code", data(`{"status":"ALIVE","license_code":"PLother"}`), false, time.Time{}},
		{"bad time", data(`{"status":"ALIVE","expire_time":"20271326121646"}`), false, time.Time{}},
		{"date only", data(`{"status":"ALIVE","expire_time":"2027-07-26"}`), false, time.Time{}},
		{"id with escape sequence", data(`{"status":"ALIVE","product_id":"\u001b[31mred"}`), false, time.Time{}},
		{"status object", data(`{"status":{"v":"ALIVE"}}`), false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, tt.body))
			c := newTestClient(t, f.srv.URL)
			lic, err := c.query(t.Context(), testCode)
			if !tt.ok {
				wantKind(t, err, errs.Protocol)
				if f.total() != 1 {
					t.Errorf("%d requests: a bad answer is not retried", f.total())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !lic.ExpireTime.Equal(tt.expire) || lic.ExpireTime.Location() != time.UTC {
				t.Errorf("expire %v, want %v in UTC", lic.ExpireTime, tt.expire)
			}
		})
	}
}

func TestActivateCodeInfoShapes(t *testing.T) {
	answer := func(info string) string {
		b, _ := json.Marshal(info)
		return `{"error_code":"92020000","error_msg":"success","data":{"license_code_info":` + string(b) + `}}`
	}
	tests := []struct {
		name, body string
		ok         bool
		amount     float64
		product    string
	}{
		{"amount as string", answer(`{"status":"ALIVE","amount":"3"}`), true, 3, ""},
		{"amount as number", answer(`{"status":"ALIVE","amount":5}`), true, 5, ""},
		{"amount empty", answer(`{"status":"ALIVE","amount":""}`), true, 0, ""},
		{"product id as number", answer(`{"status":"ALIVE","product_id":12345}`), true, 0, "12345"},
		{"unknown keys", answer(`{"status":"ALIVE","future":{"a":1},"product_id":"p"}`), true, 0, "p"},
		{"object instead of string", `{"error_code":"92020000","data":{"license_code_info":{"status":"ALIVE","amount":1}}}`, true, 1, ""},
		{"expired is not an error", answer(`{"status":"EXPIRED"}`), true, 0, ""},
		{"amount not a number", answer(`{"status":"ALIVE","amount":"two"}`), false, 0, ""},
		{"amount NaN", answer(`{"status":"ALIVE","amount":"NaN"}`), false, 0, ""},
		{"amount negative", answer(`{"status":"ALIVE","amount":-1}`), false, 0, ""},
		{"info not JSON", answer(`{status: ALIVE`), false, 0, ""},
		{"info an array", answer(`[{"status":"ALIVE"}]`), false, 0, ""},
		{"info too large", answer(`{"status":"ALIVE","pad":"` + strings.Repeat("x", 9000) + `"}`), false, 0, ""},
		{"info a number", `{"error_code":"92020000","data":{"license_code_info":42}}`, false, 0, ""},
		{"bad status", answer(`{"status":"PENDING"}`), false, 0, ""},
		{"long product id", answer(`{"status":"ALIVE","product_id":"` + strings.Repeat("p", 129) + `"}`), false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, tt.body))
			c := newTestClient(t, f.srv.URL)
			lic, err := c.activate(t.Context(), testCode)
			if !tt.ok {
				wantKind(t, err, errs.Protocol)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lic.Amount != tt.amount || lic.ProductID != tt.product {
				t.Errorf("amount %v product %q, want %v %q", lic.Amount, lic.ProductID, tt.amount, tt.product)
			}
		})
	}
}

// An activation answer without details is completed by a query.
func TestActivateWithoutCodeInfoQueries(t *testing.T) {
	for _, body := range []string{
		`{"error_code":"92020000","error_msg":"success"}`,
		`{"error_code":"92020000","error_msg":"success","data":{"license_code_info":""}}`,
	} {
		f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){
			wire.PathActivate: reply(200, body),
			wire.PathQuery:    reply(200, queryOK("ALIVE")),
		}))
		c := newTestClient(t, f.srv.URL)
		lic, err := c.activate(t.Context(), testCode)
		if err != nil || lic.Status != licensing.StatusAlive || lic.ActivateTime.IsZero() {
			t.Errorf("%s: %+v, %v; want the queried license", body, lic, err)
		}
		if f.count(wire.PathQuery) != 1 {
			t.Errorf("%d queries, want 1", f.count(wire.PathQuery))
		}
	}
}

// 92020003 (already activated) is confirmed with a query: activation is
// idempotent while the code is usable.
func TestActivateAlreadyActivated(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		kind   errs.Kind // 0 with ok
		ok     bool
		status licensing.Status
	}{
		{"alive", queryOK("ALIVE"), 0, true, licensing.StatusAlive},
		{"expired", queryOK("EXPIRED"), errs.Expired, false, licensing.StatusExpired},
		{"released", queryOK("RELEASED"), errs.Released, false, licensing.StatusReleased},
		{"query says not activated", codeAnswer(wire.CodeNotActivated, "not activated"), errs.NotActivated, false, ""},
		{"query answer malformed", `{"error_code":"92020000","data":{"status":"??"}}`, errs.Protocol, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, byPath(map[string]func(http.ResponseWriter, *http.Request, int){
				wire.PathActivate: reply(200, codeAnswer(wire.CodeIllegalState, "illegal state")),
				wire.PathQuery:    reply(200, tt.query),
			}))
			c := newTestClient(t, f.srv.URL)
			lic, err := c.activate(t.Context(), testCode)
			if tt.ok && err != nil {
				t.Fatal(err)
			}
			if !tt.ok {
				wantKind(t, err, tt.kind)
			}
			if lic.Status != tt.status {
				t.Errorf("status %q, want %q", lic.Status, tt.status)
			}
			if f.count(wire.PathActivate) != 1 || f.count(wire.PathQuery) != 1 {
				t.Errorf("activate %d, query %d requests; want 1 and 1", f.count(wire.PathActivate), f.count(wire.PathQuery))
			}
		})
	}
}

func TestReportUsage(t *testing.T) {
	f := newFakeServer(t, reply(200, usageOK))
	c := newTestClient(t, f.srv.URL)
	if err := c.usage(t.Context(), testCode, "device-1"); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	if len(reqs) != 1 || reqs[0].path != wire.PathUsage {
		t.Fatalf("requests %+v", reqs)
	}
	want := `{"usage_info":[{"license":"` + testCode + `","software_usage_Info":[{"id":"device-1"}]}]}`
	if string(reqs[0].body) != want {
		t.Errorf("body %s\nwant %s", reqs[0].body, want)
	}
}

func TestReportUsageFailureCarriesData(t *testing.T) {
	body := `{"error_code":"92020002","error_msg":"check failed","data":{"failed_list":[{"license":"` + testCode + `","reason":"id too odd"}]}}`
	f := newFakeServer(t, reply(200, body))
	c := newTestClient(t, f.srv.URL)
	err := c.usage(t.Context(), testCode, "device-1")
	wantKind(t, err, errs.Invalid)
	if s := err.Error(); !strings.Contains(s, `"reason":"id too odd"`) || !strings.Contains(s, "check failed") {
		t.Errorf("error %q lacks the server's message and data", s)
	}
}

// A successful answer may still list the entry as failed (data's field
// names are unspecified: any non-empty list counts).
func TestReportUsageListedFailures(t *testing.T) {
	ok := func(data string) string { return `{"error_code":"92020000","error_msg":"success","data":` + data + `}` }
	tests := []struct {
		name, body string
		kind       errs.Kind // 0: no error
		code       string
	}{
		{"empty list", ok(`{"failed":[]}`), 0, ""},
		{"no list", ok(`{"total":1,"note":"fine"}`), 0, ""},
		{"null data", ok(`null`), 0, ""},
		{"entry with known code", ok(`{"failed":[{"license":"` + testCode + `","error_code":"92020011","reason":"not activated"}]}`),
			errs.NotActivated, wire.CodeNotActivated},
		{"entry with unknown code", ok(`{"failed":[{"error_code":"9999"}]}`), errs.Invalid, "9999"},
		{"entry without code", ok(`{"failed_entries":[{"license":"` + testCode + `"}]}`), errs.Invalid, ""},
		{"data is the list", ok(`["` + testCode + `"]`), errs.Invalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, tt.body))
			c := newTestClient(t, f.srv.URL)
			err := c.usage(t.Context(), testCode, "device-1")
			if tt.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantKind(t, err, tt.kind)
			var le *errs.Error
			if !errors.As(err, &le) || le.Code != tt.code || !strings.Contains(err.Error(), "data: ") {
				t.Errorf("error %v: want code %q and the data", err, tt.code)
			}
			if f.total() != 1 {
				t.Errorf("%d requests: a listed failure is definite", f.total())
			}
		})
	}
}

func TestReportUsageDeviceID(t *testing.T) {
	f := newFakeServer(t, reply(200, usageOK))
	c := newTestClient(t, f.srv.URL)
	for _, id := range []string{"", strings.Repeat("d", MaxDeviceIDLen+1), "a\nb", "bad\xffutf8"} {
		wantKind(t, c.usage(t.Context(), testCode, id), errs.Invalid)
	}
	if f.total() != 0 {
		t.Fatalf("%d requests sent for invalid device ids", f.total())
	}
	if err := c.usage(t.Context(), testCode, strings.Repeat("é", MaxDeviceIDLen)); err != nil {
		t.Errorf("%d two-byte characters: %v", MaxDeviceIDLen, err)
	}
}

func TestInvalidCodeSendsNothing(t *testing.T) {
	f := newFakeServer(t, reply(200, activateOK))
	c := newTestClient(t, f.srv.URL)
	for _, code := range []string{"", "   ", "PL 123", "PL123!", "PL\u00e9", strings.Repeat("P", licensing.MaxCodeLen+1), "PL\x00"} {
		_, err := c.activate(t.Context(), code)
		wantKind(t, err, errs.Invalid)
		_, err = c.query(t.Context(), code)
		wantKind(t, err, errs.Invalid)
		wantKind(t, c.usage(t.Context(), code, "device"), errs.Invalid)
	}
	if f.total() != 0 {
		t.Fatalf("%d requests reached the server", f.total())
	}
}

func TestMissingCredentialsSendNothing(t *testing.T) {
	f := newFakeServer(t, reply(200, activateOK))
	for _, cred := range []aksk.Credentials{{}, {AK: testAK}, {SK: testSK}} {
		c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Credentials = cred })
		_, err := c.activate(t.Context(), testCode)
		wantKind(t, err, errs.Credentials)
		_, err = c.query(t.Context(), testCode)
		wantKind(t, err, errs.Credentials)
		wantKind(t, c.usage(t.Context(), testCode, "device"), errs.Credentials)
	}
	if f.total() != 0 {
		t.Fatalf("%d requests reached the server", f.total())
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRetryTransientThenSuccess(t *testing.T) {
	tests := []struct {
		name    string
		failure func(w http.ResponseWriter)
	}{
		{"HTTP 500", func(w http.ResponseWriter) { writeJSON(w, 500, "oops") }},
		{"HTTP 503 Retry-After", func(w http.ResponseWriter) { w.Header().Set("Retry-After", "1"); writeJSON(w, 503, "") }},
		{"HTTP 429", func(w http.ResponseWriter) { writeJSON(w, 429, `{"message":"slow down"}`) }},
		{"92020001", func(w http.ResponseWriter) { writeJSON(w, 200, codeAnswer(wire.CodeInternal, "internal error")) }},
		{"APIGW.0201 502", func(w http.ResponseWriter) { writeJSON(w, 502, codeAnswer(wire.GatewayBackend, "backend")) }},
		{"connection closed", hangUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n < 3 {
					tt.failure(w)
					return
				}
				writeJSON(w, 200, activateOK)
			})
			c := newTestClient(t, f.srv.URL)
			lic, err := c.activate(t.Context(), testCode)
			if err != nil {
				t.Fatal(err)
			}
			if lic.Status != licensing.StatusAlive {
				t.Errorf("status %q", lic.Status)
			}
			if n := f.count(wire.PathActivate); n != 3 {
				t.Errorf("%d attempts, want 3", n)
			}
		})
	}
}

// Every attempt is signed anew: a retry must not reuse a stale X-Sdk-Date.
func TestRetryResigns(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now().Add(-time.Minute)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(2 * time.Second)
		return clock
	}
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			writeJSON(w, 503, "")
			return
		}
		writeJSON(w, 200, activateOK)
	})
	c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Now = now })
	if _, err := c.activate(t.Context(), testCode); err != nil {
		t.Fatal(err)
	}
	dates := map[string]bool{}
	for _, r := range f.seen() {
		dates[r.header.Get(aksk.DateHeader)] = true
	}
	if len(dates) != 3 {
		t.Errorf("dates %v: want 3 distinct X-Sdk-Date values", dates)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	f := newFakeServer(t, reply(503, ""))
	c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.MaxAttempts = 4 })
	_, err := c.query(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	if n := f.total(); n != 4 {
		t.Errorf("%d attempts, want MaxAttempts = 4", n)
	}
}

// The default host falls back to the second host when it cannot be reached.
func TestHostFallback(t *testing.T) {
	f := newFakeServer(t, reply(200, activateOK))
	c := newTestClient(t, "")
	c.endpoints = []string{closedURL(t), f.srv.URL}
	if _, err := c.activate(t.Context(), testCode); err != nil {
		t.Fatal(err)
	}
	if n := f.total(); n != 1 {
		t.Errorf("fallback got %d requests, want 1", n)
	}
}

// An HTTP answer, even a failure, means the host is up: no fallback.
func TestNoFallbackOnHTTPAnswer(t *testing.T) {
	primary := newFakeServer(t, reply(503, ""))
	fallback := newFakeServer(t, reply(200, activateOK))
	c := newTestClient(t, "")
	c.endpoints = []string{primary.srv.URL, fallback.srv.URL}
	_, err := c.activate(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	if primary.total() != 3 || fallback.total() != 0 {
		t.Errorf("primary %d, fallback %d requests; want 3 and 0", primary.total(), fallback.total())
	}
}

// A configured endpoint has no fallback.
func TestConfiguredEndpointUnreachable(t *testing.T) {
	c := newTestClient(t, closedURL(t))
	_, err := c.query(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	if len(c.endpoints) != 1 {
		t.Errorf("endpoints %v", c.endpoints)
	}
}

func TestMalformedAnswers(t *testing.T) {
	tests := []struct{ name, body string }{
		{"truncated", activateOK[:len(activateOK)/2]},
		{"empty", ""},
		{"not JSON", "success"},
		{"HTML", "<html><body>OK</body></html>"},
		{"array", "[]"},
		{"null", "null"},
		{"string", `"92020000"`},
		{"trailing garbage", activateOK + "}"},
		{"code an object", `{"error_code":{"v":"92020000"}}`},
		{"message an array", `{"error_code":"92020000","error_msg":["a"]}`},
		{"data an array", `{"error_code":"92020000","data":[1]}`},
		{"oversized", `{"error_code":"92020000","error_msg":"` + strings.Repeat("x", MaxResponseBytes) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, reply(200, tt.body))
			c := newTestClient(t, f.srv.URL)
			_, err := c.activate(t.Context(), testCode)
			wantKind(t, err, errs.Protocol)
			if n := f.total(); n != 1 {
				t.Errorf("%d requests: a malformed answer is definite, not retried", n)
			}
		})
	}
}

// An answer of exactly MaxResponseBytes is read; one byte more is refused.
func TestResponseSizeLimit(t *testing.T) {
	pad := func(n int) string { return queryOK("ALIVE") + strings.Repeat(" ", n-len(queryOK("ALIVE"))) }
	f := newFakeServer(t, reply(200, pad(MaxResponseBytes)))
	c := newTestClient(t, f.srv.URL)
	if _, err := c.query(t.Context(), testCode); err != nil {
		t.Errorf("answer of exactly %d bytes: %v", MaxResponseBytes, err)
	}
	f = newFakeServer(t, reply(200, pad(MaxResponseBytes+1)))
	c = newTestClient(t, f.srv.URL)
	_, err := c.query(t.Context(), testCode)
	wantKind(t, err, errs.Protocol)
}

// hangingServer accepts requests and never answers until the test ends.
func hangingServer(t *testing.T) *fakeServer {
	stop := make(chan struct{})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before the server's Close
	return f
}

func TestDeadlineRespected(t *testing.T) {
	f := hangingServer(t)
	const deadline = 300 * time.Millisecond
	c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.Timeout = deadline })
	start := time.Now()
	_, err := c.activate(t.Context(), testCode)
	elapsed := time.Since(start)
	wantKind(t, err, errs.Unavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if elapsed > 2*deadline {
		t.Errorf("returned after %v, deadline %v", elapsed, deadline)
	}
}

// A hung attempt is abandoned after AttemptTimeout and retried, all within
// the call's deadline.
func TestAttemptTimeoutRetries(t *testing.T) {
	f := hangingServer(t)
	const deadline = time.Second
	c := newTestClient(t, f.srv.URL, func(cfg *Config) {
		cfg.Timeout = deadline
		cfg.AttemptTimeout = 100 * time.Millisecond
	})
	start := time.Now()
	_, err := c.query(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	if elapsed := time.Since(start); elapsed > 2*deadline {
		t.Errorf("returned after %v, deadline %v", elapsed, deadline)
	}
	if n := f.total(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestCallerCancellation(t *testing.T) {
	f := hangingServer(t)
	c := newTestClient(t, f.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := c.usage(ctx, testCode, "device")
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("after %v: %v; want a prompt context.Canceled", time.Since(start), err)
	}
}

// A redirect is never followed: the other host never sees the request.
func TestRedirectRefused(t *testing.T) {
	var mu sync.Mutex
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere = append(elsewhere, r.Header.Get("Authorization"))
		mu.Unlock()
		writeJSON(w, 200, activateOK)
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{301, 302, 303, 307, 308} {
		f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		})
		c := newTestClient(t, f.srv.URL)
		_, err := c.activate(t.Context(), testCode)
		wantKind(t, err, errs.Protocol)
		if host := strings.TrimPrefix(other.URL, "http://"); !strings.Contains(err.Error(), host) {
			t.Errorf("%d: error %q does not name the redirect target", status, err)
		}
		if f.total() != 1 {
			t.Errorf("%d: %d requests, want 1 (no retry)", status, f.total())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(elsewhere) != 0 {
		t.Fatalf("the other host got %d requests (Authorization %q)", len(elsewhere), elsewhere)
	}
}

// A caller's HTTPClient is copied and its redirect policy replaced.
func TestHTTPClientCannotFollowRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed, Authorization %q", r.Header.Get("Authorization"))
	}))
	t.Cleanup(other.Close)
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	})
	follow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.HTTPClient = follow })
	_, err := c.query(t.Context(), testCode)
	wantKind(t, err, errs.Protocol)
	if follow.CheckRedirect == nil {
		t.Error("the caller's client was modified")
	}
}

func TestTLS(t *testing.T) {
	var conns sync.Map
	f := &fakeServer{tb: t, script: reply(200, activateOK), hits: map[string]int{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	f.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Store(c.RemoteAddr().String(), true)
		}
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)

	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	c := newTestClient(t, f.srv.URL, func(cfg *Config) { cfg.RootCAs = pool })
	if _, err := c.activate(t.Context(), testCode); err != nil {
		t.Fatalf("with the server's CA: %v", err)
	}

	conns.Clear()
	c = newTestClient(t, f.srv.URL) // system roots: the test CA is unknown
	_, err := c.activate(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not mention the certificate", err)
	}
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d connections: a refused certificate is not retried", n)
	}
	if f.total() != 1 {
		t.Errorf("%d requests reached the handler, want only the first client's", f.total())
	}
}

// Config.Proxy carries every request but those to this machine (Go's rule,
// internal/netutil.Proxy): a loopback endpoint (the sandbox) is reached
// directly, any other through the proxy.
func TestProxy(t *testing.T) {
	var mu sync.Mutex
	var tunnels []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tunnels = append(tunnels, r.Method+" "+r.Host)
		mu.Unlock()
		http.Error(w, "no tunnels here", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)

	direct := newFakeServer(t, reply(200, activateOK))
	c := newTestClient(t, direct.srv.URL, func(cfg *Config) { cfg.Proxy = proxy.URL })
	if _, err := c.activate(t.Context(), testCode); err != nil {
		t.Fatalf("loopback endpoint with a proxy set: %v", err)
	}
	c = newTestClient(t, "https://license.example.test", func(cfg *Config) { cfg.Proxy = proxy.URL; cfg.MaxAttempts = 1 })
	_, err := c.activate(t.Context(), testCode)
	wantKind(t, err, errs.Unavailable)
	mu.Lock()
	defer mu.Unlock()
	if len(tunnels) != 1 || tunnels[0] != "CONNECT license.example.test:443" {
		t.Errorf("the proxy saw %q, want one CONNECT to the marketplace", tunnels)
	}
}

// A gateway that echoes the keys it was sent does not leak them through us.
func TestSecretsRedactedFromAnswers(t *testing.T) {
	msg := "Incorrect IAM authentication information: ak " + testAK + " sk " + testSK
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Location", "http://"+testAK+".example.com/")
		writeJSON(w, 401, `{"error_code":"APIGW.0301","error_msg":"`+msg+`","data":{"echo":"`+testSK+`"}}`)
	})
	c := newTestClient(t, f.srv.URL)
	_, err := c.activate(t.Context(), testCode)
	wantKind(t, err, errs.Credentials)
	if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(err.Error(), aksk.MaskAK(testAK)) {
		t.Errorf("error %q: want the keys masked", err)
	}
	if !strings.Contains(err.Error(), "clock") {
		t.Errorf("error %q: want the hint about the clock", err)
	}
}

func TestErrorShape(t *testing.T) {
	f := newFakeServer(t, reply(200, codeAnswer(wire.CodeNotExist, "license \x1b[31mnot\u202e found\n"+strings.Repeat("!", 500))))
	c := newTestClient(t, f.srv.URL)
	_, err := c.query(t.Context(), testCode)
	var le *errs.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %T, want *errs.Error", err)
	}
	if le.Op != "query" || le.Kind != errs.NotFound || le.Code != wire.CodeNotExist {
		t.Errorf("error %+v", le)
	}
	msg := le.Err.Error()
	if strings.ContainsAny(msg, "\x1b\n\u202e") || len(msg) > maxMsgLen+len("…") {
		t.Errorf("message not cleaned: %q (%d bytes)", msg, len(msg))
	}
	if !strings.HasPrefix(msg, "license [31mnot found !!!") {
		t.Errorf("message %q", msg)
	}
}
