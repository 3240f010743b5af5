package sandbox_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// The checks before the license logic, in the gateway's order: each case
// passes every check before the one it fails.
func TestGatewayChecks(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	active := licenseBody(e.code(sandbox.StateActive, 0))
	huge := strings.Repeat(" ", sandbox.MaxBodyBytes+1)
	// A 1 MiB body exactly is still read and answered.
	atLimit := `{"license":"PLNOSUCHCODE"}` + strings.Repeat(" ", sandbox.MaxBodyBytes-len(`{"license":"PLNOSUCHCODE"}`))
	stranger := aksk.Credentials{AK: "NOSUCHACCESSKEY00000", SK: "x"}
	wrongSK := aksk.Credentials{AK: e.srv.Credentials().AK, SK: "not-the-secret"}

	tests := []struct {
		name       string
		call       call
		wantStatus int
		wantCode   string
	}{
		{"unknown path", call{method: "GET", path: "/nope", unsigned: true}, 404, wire.GatewayNotFound},
		{"path with trailing slash", call{path: wire.PathQuery + "/", body: active}, 404, wire.GatewayNotFound},
		{"v2 activate is not served", call{path: strings.Replace(wire.PathActivate, "v1", "v2", 1), body: active}, 404, wire.GatewayNotFound},
		{"GET", call{method: "GET", path: wire.PathQuery, unsigned: true}, 405, wire.CodeMethodNotSupported},
		{"PUT", call{method: "PUT", path: wire.PathActivate, body: active}, 405, wire.CodeMethodNotSupported},
		{"text/plain", call{path: wire.PathQuery, contentType: "text/plain", body: active, unsigned: true}, 415, wire.CodeContentType},
		{"no content type", call{path: wire.PathQuery, body: active, unsigned: true,
			tamper: func(r *http.Request) { r.Header.Del("Content-Type") }}, 415, wire.CodeContentType},
		{"charset parameter", call{path: wire.PathQuery, contentType: "application/json; charset=UTF-8", body: active}, 200, wire.CodeSuccess},
		{"media type case", call{path: wire.PathQuery, contentType: "Application/JSON", body: active}, 200, wire.CodeSuccess},
		{"body over 1 MiB", call{path: wire.PathQuery, body: huge, unsigned: true}, 413, wire.GatewayBackend},
		{"body of 1 MiB", call{path: wire.PathQuery, body: atLimit}, 200, wire.CodeNotExist},
		{"unsigned", call{path: wire.PathQuery, body: active, unsigned: true}, 401, wire.GatewayBadSignature},
		{"other scheme", call{path: wire.PathQuery, body: active,
			tamper: func(r *http.Request) { r.Header.Set("Authorization", "Basic YWs6c2s=") }}, 401, wire.GatewayBadSignature},
		{"unknown AK", call{path: wire.PathQuery, body: active, cred: &stranger}, 401, wire.GatewayBadSignature},
		{"wrong SK", call{path: wire.PathQuery, body: active, cred: &wrongSK}, 401, wire.GatewayBadSignature},
		{"body changed after signing", call{path: wire.PathQuery, body: active, tamper: func(r *http.Request) {
			b := licenseBody(e.code(sandbox.StateReady, 0))
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
		}}, 401, wire.GatewayBadSignature},
		{"no X-Sdk-Date", call{path: wire.PathQuery, body: active,
			tamper: func(r *http.Request) { r.Header.Del(aksk.DateHeader) }}, 401, wire.GatewayBadSignature},
		{"signed 16 minutes ago", call{path: wire.PathQuery, body: active, skew: -16 * time.Minute}, 401, wire.GatewayBadSignature},
		{"signed 16 minutes ahead", call{path: wire.PathQuery, body: active, skew: 16 * time.Minute}, 401, wire.GatewayBadSignature},
		{"signed 14 minutes ago", call{path: wire.PathQuery, body: active, skew: -14 * time.Minute}, 200, wire.CodeSuccess},
		{"signed 14 minutes ahead", call{path: wire.PathQuery, body: active, skew: 14 * time.Minute}, 200, wire.CodeSuccess},
		{"invalid JSON", call{path: wire.PathQuery, body: `{"license":`}, 400, wire.CodeBodyNotReadable},
		{"empty body", call{path: wire.PathActivate}, 400, wire.CodeBodyNotReadable},
		{"array body", call{path: wire.PathActivate, body: `[]`}, 400, wire.CodeBodyNotReadable},
		{"null body", call{path: wire.PathActivate, body: `null`}, 400, wire.CodeBodyNotReadable},
		{"trailing garbage", call{path: wire.PathActivate, body: active + "x"}, 400, wire.CodeBodyNotReadable},
		{"license missing", call{path: wire.PathActivate, body: `{}`}, 400, wire.CodeRequestInvalid},
		{"license null", call{path: wire.PathActivate, body: `{"license":null}`}, 400, wire.CodeRequestInvalid},
		{"license empty", call{path: wire.PathQuery, body: `{"license":""}`}, 400, wire.CodeRequestInvalid},
		{"license a number", call{path: wire.PathQuery, body: `{"license":12}`}, 400, wire.CodeRequestInvalid},
		{"license 65 characters", call{path: wire.PathQuery, body: licenseBody("PL" + strings.Repeat("A", 63))}, 400, wire.CodeRequestInvalid},
		{"license key in other case", call{path: wire.PathQuery, body: `{"License":"PL1"}`}, 400, wire.CodeRequestInvalid},
		{"license 64 characters", call{path: wire.PathQuery, body: licenseBody("PL" + strings.Repeat("A", 62))}, 200, wire.CodeNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			got := e.send(tt.call)
			if got.status != tt.wantStatus || got.env.ErrorCode != tt.wantCode {
				t.Fatalf("answer %d %s, want %d %s: %s", got.status, got.env.ErrorCode, tt.wantStatus, tt.wantCode, got.raw)
			}
			if got.env.ErrorMsg == "" {
				t.Errorf("no error_msg: %s", got.raw)
			}
			if got.status != http.StatusOK {
				assertErrorShape(t, got.raw)
			}
		})
	}
}

// assertErrorShape checks a refusal holds exactly error_code and error_msg.
func assertErrorShape(t *testing.T, raw []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, []string{"error_code", "error_msg"}) {
		t.Errorf("keys %v in %s", keys, raw)
	}
}

// The license logic, one fresh sandbox per case (activation changes it).
func TestLicenseResults(t *testing.T) {
	type bodyFunc func(e *env) string
	code := func(state string, n int) bodyFunc {
		return func(e *env) string { return licenseBody(e.code(state, n)) }
	}
	fixed := func(s string) bodyFunc { return func(*env) string { return s } }
	withEffect := func(effect string) bodyFunc {
		return func(e *env) string {
			return mustJSON(t, wire.ActivateRequest{License: e.code(sandbox.StateReady, 0), RealEffectTime: effect})
		}
	}
	usage := func(entries ...any) bodyFunc {
		return func(e *env) string { return mustJSON(t, map[string]any{"usage_info": entries}) }
	}
	entry := func(license string, items ...any) map[string]any {
		return map[string]any{"license": license, "software_usage_Info": items}
	}
	id := func(s string) map[string]any { return map[string]any{"id": s} }
	usageFor := func(state string, items ...any) bodyFunc {
		return func(e *env) string {
			return mustJSON(t, map[string]any{"usage_info": []any{entry(e.code(state, 0), items...)}})
		}
	}
	many := func(n int, v any) []any { return slices.Repeat([]any{v}, n) }

	tests := []struct {
		name       string
		path       string
		body       bodyFunc
		wantStatus int // 0 means 200
		wantCode   string
	}{
		{"activate ready", wire.PathActivate, code(sandbox.StateReady, 0), 0, wire.CodeSuccess},
		{"activate the second ready", wire.PathActivate, code(sandbox.StateReady, 1), 0, wire.CodeSuccess},
		{"activate active", wire.PathActivate, code(sandbox.StateActive, 0), 0, wire.CodeIllegalState},
		{"activate undelivered", wire.PathActivate, code(sandbox.StateUndelivered, 0), 0, wire.CodeNotDelivered},
		{"activate expired", wire.PathActivate, code(sandbox.StateExpired, 0), 0, wire.CodeIllegalState},
		{"activate released", wire.PathActivate, code(sandbox.StateReleased, 0), 0, wire.CodeIllegalState},
		{"activate unknown", wire.PathActivate, fixed(licenseBody("PL0000000000000000000000000000DEAD")), 0, wire.CodeNotExist},
		{"activate with effect time", wire.PathActivate, withEffect("20260301000000"), 0, wire.CodeSuccess},
		{"effect time malformed", wire.PathActivate, withEffect("2026-03-01"), 0, wire.CodeInvalidParameter},
		{"effect time in the future", wire.PathActivate, withEffect("20990101000000"), 0, wire.CodeInvalidParameter},
		{"effect time too long", wire.PathActivate, withEffect("20260301000000000"), 400, wire.CodeRequestInvalid},
		{"query ready", wire.PathQuery, code(sandbox.StateReady, 0), 0, wire.CodeNotActivated},
		{"query undelivered", wire.PathQuery, code(sandbox.StateUndelivered, 0), 0, wire.CodeNotActivated},
		{"query unknown", wire.PathQuery, fixed(licenseBody("PLNOSUCHCODE")), 0, wire.CodeNotExist},
		{"query active", wire.PathQuery, code(sandbox.StateActive, 0), 0, wire.CodeSuccess},
		{"query expired", wire.PathQuery, code(sandbox.StateExpired, 0), 0, wire.CodeSuccess},
		{"query released", wire.PathQuery, code(sandbox.StateReleased, 0), 0, wire.CodeSuccess},
		{"query ignores unknown fields", wire.PathQuery, func(e *env) string {
			return `{"license":"` + e.code(sandbox.StateActive, 0) + `","heartbeatInfo":{"x":1}}`
		}, 0, wire.CodeSuccess},
		{"usage by id", wire.PathUsage, usageFor(sandbox.StateActive, id("user-1"), id("user-2")), 0, wire.CodeSuccess},
		{"usage by count", wire.PathUsage, usageFor(sandbox.StateActive, map[string]any{"active_num": 100}), 0, wire.CodeSuccess},
		{"usage of unknown code", wire.PathUsage, usage(entry("PLNOSUCHCODE", id("u"))), 0, wire.CodeSuccess},
		{"usage 100 entries", wire.PathUsage, usageFor(sandbox.StateActive, many(100, id("u"))...), 0, wire.CodeSuccess},
		{"usage 101 items", wire.PathUsage, usageFor(sandbox.StateActive, many(101, id("u"))...), 400, wire.CodeRequestInvalid},
		{"usage 101 entries", wire.PathUsage, usage(many(101, entry("PLX", id("u")))...), 400, wire.CodeRequestInvalid},
		{"usage_info empty", wire.PathUsage, usage(), 400, wire.CodeRequestInvalid},
		{"usage_info missing", wire.PathUsage, fixed(`{}`), 400, wire.CodeRequestInvalid},
		{"usage_info not a list", wire.PathUsage, fixed(`{"usage_info":{}}`), 400, wire.CodeRequestInvalid},
		{"usage entry not an object", wire.PathUsage, fixed(`{"usage_info":[1]}`), 400, wire.CodeRequestInvalid},
		{"usage without items", wire.PathUsage, usageFor(sandbox.StateActive), 400, wire.CodeRequestInvalid},
		{"usage without license", wire.PathUsage, usage(map[string]any{"software_usage_Info": []any{id("u")}}), 400, wire.CodeRequestInvalid},
		{"usage key in lower case", wire.PathUsage, func(e *env) string {
			return mustJSON(t, map[string]any{"usage_info": []any{map[string]any{
				"license": e.code(sandbox.StateActive, 0), "software_usage_info": []any{id("u")}}}})
		}, 400, wire.CodeRequestInvalid},
		{"usage item with both", wire.PathUsage, usageFor(sandbox.StateActive, map[string]any{"id": "u", "active_num": 1}), 400, wire.CodeRequestInvalid},
		{"usage item with neither", wire.PathUsage, usageFor(sandbox.StateActive, map[string]any{}), 400, wire.CodeRequestInvalid},
		{"usage item with empty id", wire.PathUsage, usageFor(sandbox.StateActive, id("")), 400, wire.CodeRequestInvalid},
		{"usage id of 256", wire.PathUsage, usageFor(sandbox.StateActive, id(strings.Repeat("i", 256))), 0, wire.CodeSuccess},
		{"usage id of 257", wire.PathUsage, usageFor(sandbox.StateActive, id(strings.Repeat("i", 257))), 400, wire.CodeRequestInvalid},
		{"usage negative count", wire.PathUsage, usageFor(sandbox.StateActive, map[string]any{"active_num": -1}), 400, wire.CodeRequestInvalid},
		{"usage fractional count", wire.PathUsage, usageFor(sandbox.StateActive, map[string]any{"active_num": 1.5}), 400, wire.CodeRequestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sandbox.Config{})
			got := e.post(tt.path, tt.body(e))
			want := tt.wantStatus
			if want == 0 {
				want = http.StatusOK
			}
			if got.status != want || got.env.ErrorCode != tt.wantCode {
				t.Fatalf("answer %d %s, want %d %s: %s", got.status, got.env.ErrorCode, want, tt.wantCode, got.raw)
			}
			if got.env.ErrorCode != wire.CodeSuccess {
				assertErrorShape(t, got.raw)
			}
		})
	}
}

// The activation answer carries license_code_info as a JSON string, exactly
// like the spec's example.
func TestActivateAnswer(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	code := e.code(sandbox.StateReady, 0)
	got := e.post(wire.PathActivate, licenseBody(code))
	var data map[string]json.RawMessage
	if err := json.Unmarshal(got.env.Data, &data); err != nil {
		t.Fatalf("data: %v: %s", err, got.raw)
	}
	raw := data["license_code_info"]
	if len(raw) == 0 || raw[0] != '"' {
		t.Fatalf("license_code_info is not a string: %s", got.raw)
	}
	var infoText string
	if err := json.Unmarshal(raw, &infoText); err != nil {
		t.Fatal(err)
	}
	var info wire.LicenseCodeInfo
	if err := json.Unmarshal([]byte(infoText), &info); err != nil {
		t.Fatalf("license_code_info %q: %v", infoText, err)
	}
	lic, _ := e.srv.Lookup(code)
	want := wire.LicenseCodeInfo{
		Status:     "ALIVE",
		ExpireTime: t0.Add(sandbox.DefaultTerm).Format(wire.TimeLayout),
		ProductID:  sandbox.DemoProductID,
		OrderID:    lic.OrderID,
		Amount:     1,
	}
	if info != want || !strings.HasPrefix(info.OrderID, "CS") {
		t.Errorf("info = %+v, want %+v", info, want)
	}
	if got.env.ErrorMsg != "success" {
		t.Errorf("error_msg = %q", got.env.ErrorMsg)
	}
	if !lic.ActivateTime.Equal(t0) || lic.Status != licensing.StatusAlive {
		t.Errorf("Lookup = %+v", lic)
	}
	if first := e.code(sandbox.StateActive, 0); first != code {
		t.Errorf("the activated code is not listed as active (first active: %s)", first)
	}
}

// A code's life: activated, queried, expired by the clock, released.
func TestQueryFollowsTheCode(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	code := e.code(sandbox.StateReady, 0)
	e.post(wire.PathActivate, licenseBody(code))
	query := func(wantStatus licensing.Status) wire.QueryData {
		t.Helper()
		got := e.post(wire.PathQuery, licenseBody(code))
		if got.env.ErrorCode != wire.CodeSuccess {
			t.Fatalf("query: %s", got.raw)
		}
		var d wire.QueryData
		if err := json.Unmarshal(got.env.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Status != string(wantStatus) {
			t.Errorf("status = %s, want %s", d.Status, wantStatus)
		}
		return d
	}
	d := query(licensing.StatusAlive)
	want := wire.QueryData{
		LicenseCode:  code,
		Status:       "ALIVE",
		ActivateTime: t0.Format(wire.TimeLayout),
		ExpireTime:   t0.Add(sandbox.DefaultTerm).Format(wire.TimeLayout),
		ProductID:    sandbox.DemoProductID,
		OrderID:      d.OrderID,
	}
	if d != want || d.OrderID == "" {
		t.Errorf("query data = %+v, want %+v", d, want)
	}

	e.clock.Add(sandbox.DefaultTerm - time.Second)
	query(licensing.StatusAlive)
	e.clock.Add(time.Second)
	query(licensing.StatusExpired)

	if err := e.srv.SetExpiry(code, e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	query(licensing.StatusAlive)
	if err := e.srv.SetStatus(code, licensing.StatusReleased); err != nil {
		t.Fatal(err)
	}
	query(licensing.StatusReleased)
	if got := e.post(wire.PathUsage, usageBody(code)); !strings.Contains(string(got.env.Data), wire.CodeIllegalState) {
		t.Errorf("usage of a released code accepted: %s", got.raw)
	}
}

func TestAdminHelpers(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	undelivered := e.code(sandbox.StateUndelivered, 0)
	if err := e.srv.Deliver(undelivered); err != nil {
		t.Fatal(err)
	}
	if got := e.post(wire.PathActivate, licenseBody(undelivered)); got.env.ErrorCode != wire.CodeSuccess {
		t.Errorf("activate after Deliver: %s", got.raw)
	}

	code, err := e.srv.AddCode(sandbox.CodeSpec{Code: "PLTEST0001", Term: time.Hour, ProductID: "P1", OrderID: "O1", Amount: 3})
	if err != nil || code != "PLTEST0001" {
		t.Fatalf("AddCode = %q, %v", code, err)
	}
	e.post(wire.PathActivate, licenseBody(code))
	if lic, _ := e.srv.Lookup(code); !lic.ExpireTime.Equal(t0.Add(time.Hour)) || lic.ProductID != "P1" || lic.Amount != 3 {
		t.Errorf("Lookup = %+v", lic)
	}

	released, err := e.srv.AddCode(sandbox.CodeSpec{})
	if err != nil || !strings.HasPrefix(released, "PL") || len(released) != 32 {
		t.Fatalf("AddCode random = %q, %v", released, err)
	}
	if err := e.srv.SetStatus(released, licensing.StatusReleased); err != nil {
		t.Fatal(err)
	}
	if got := e.post(wire.PathActivate, licenseBody(released)); got.env.ErrorCode != wire.CodeIllegalState {
		t.Errorf("activate released before activation: %s", got.raw)
	}

	cases := []struct {
		name string
		err  error
		kind errs.Kind
	}{
		{"duplicate code", second(e.srv.AddCode(sandbox.CodeSpec{Code: code})), errs.Invalid},
		{"malformed code", second(e.srv.AddCode(sandbox.CodeSpec{Code: "PL 1"})), errs.Invalid},
		{"undelivered yet activated", second(e.srv.AddCode(sandbox.CodeSpec{Undelivered: true, ActivatedAt: t0})), errs.Invalid},
		{"unknown status", e.srv.SetStatus(code, "GONE"), errs.Invalid},
		{"SetStatus unknown code", e.srv.SetStatus("PLNOSUCH", licensing.StatusExpired), errs.NotFound},
		{"SetExpiry not activated", e.srv.SetExpiry(e.code(sandbox.StateReady, 0), t0), errs.NotActivated},
		{"Deliver unknown code", e.srv.Deliver("PLNOSUCH"), errs.NotFound},
	}
	for _, c := range cases {
		if !errs.Is(c.err, c.kind) {
			t.Errorf("%s: err = %v, want kind %v", c.name, c.err, c.kind)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func usageBody(codes ...string) string {
	entries := make([]wire.UsageEntry, len(codes))
	for i, c := range codes {
		entries[i] = wire.UsageEntry{License: c, SoftwareUsageInfo: []wire.UsageItem{{ID: "device-" + c}}}
	}
	b, _ := json.Marshal(wire.UsageRequest{UsageInfo: entries})
	return string(b)
}

// Usage is recorded; the entries that cannot count are listed in data.failed.
func TestUsageRecordedAndFailuresListed(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	active, ready := e.code(sandbox.StateActive, 0), e.code(sandbox.StateReady, 0)
	got := e.post(wire.PathUsage, usageBody(active, "PLNOSUCHCODE", ready, e.code(sandbox.StateExpired, 0)))
	if got.env.ErrorCode != wire.CodeSuccess {
		t.Fatalf("usage: %s", got.raw)
	}
	var data struct {
		Failed []struct {
			License   string `json:"license"`
			ErrorCode string `json:"error_code"`
			Reason    string `json:"reason"`
		} `json:"failed"`
	}
	if err := json.Unmarshal(got.env.Data, &data); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range data.Failed {
		if f.Reason == "" {
			t.Errorf("no reason for %s", f.License)
		}
		failed = append(failed, f.License+" "+f.ErrorCode)
	}
	wantFailed := []string{"PLNOSUCHCODE " + wire.CodeNotExist, ready + " " + wire.CodeNotActivated,
		e.code(sandbox.StateExpired, 0) + " " + wire.CodeIllegalState}
	if !slices.Equal(failed, wantFailed) {
		t.Errorf("failed = %v, want %v", failed, wantFailed)
	}

	if got := e.post(wire.PathUsage, usageBody(active)); string(got.env.Data) != `{"failed":[]}` {
		t.Errorf("clean report data = %s", got.env.Data)
	}
	reports := e.srv.Usage()
	if len(reports) != 5 {
		t.Fatalf("%d reports recorded, want 5", len(reports))
	}
	r := reports[0]
	if r.License != active || r.ErrorCode != "" || !r.Received.Equal(t0) || len(r.Items) != 1 || r.Items[0].ID != "device-"+active {
		t.Errorf("first report = %+v", r)
	}
	if reports[1].ErrorCode != wire.CodeNotExist {
		t.Errorf("second report = %+v", reports[1])
	}
}

// Many clients activating one code at once: exactly one wins.
func TestConcurrentActivation(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	code := e.code(sandbox.StateReady, 0)
	const n = 16
	results := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			results <- e.post(wire.PathActivate, licenseBody(code)).env.ErrorCode
		})
	}
	wg.Wait()
	close(results)
	count := map[string]int{}
	for c := range results {
		count[c]++
	}
	if count[wire.CodeSuccess] != 1 || count[wire.CodeIllegalState] != n-1 {
		t.Errorf("results = %v, want one %s and %d %s", count, wire.CodeSuccess, n-1, wire.CodeIllegalState)
	}
}

// The log names method, path, code and result, and never a secret.
func TestLogNeverHoldsSecrets(t *testing.T) {
	var buf testutil.LockedBuffer
	e := newEnv(t, sandbox.Config{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	cred := e.srv.Credentials()
	code := e.code(sandbox.StateReady, 0)
	var auths []string
	keep := func(r *http.Request) { auths = append(auths, r.Header.Get("Authorization")) }
	for _, c := range []call{
		{path: wire.PathActivate, body: licenseBody(code), tamper: keep},
		{path: wire.PathQuery, body: licenseBody(code), tamper: keep},
		{path: wire.PathUsage, body: usageBody(code), tamper: keep},
		{path: wire.PathQuery, body: licenseBody(code), skew: time.Hour, tamper: keep},
		{path: wire.PathQuery, body: licenseBody(code), cred: &aksk.Credentials{AK: cred.AK, SK: "guess"}, tamper: keep},
		{path: wire.PathQuery, body: `{`, tamper: keep},
	} {
		e.send(c)
	}
	out := buf.String()
	for _, secret := range append([]string{cred.SK}, auths...) {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("log holds a secret %q:\n%s", secret, out)
		}
	}
	for _, sig := range auths {
		if _, s, ok := strings.Cut(sig, "Signature="); ok && strings.Contains(out, s) {
			t.Errorf("log holds a signature")
		}
	}
	for _, want := range []string{"method=POST", "path=" + wire.PathActivate, "license=" + code,
		"result=" + wire.CodeSuccess, "result=" + wire.GatewayBadSignature} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func BenchmarkQuery(b *testing.B) {
	e := newEnv(b, sandbox.Config{})
	body := licenseBody(e.code(sandbox.StateActive, 0))
	b.ReportAllocs()
	for b.Loop() {
		if got := e.post(wire.PathQuery, body); got.env.ErrorCode != wire.CodeSuccess {
			b.Fatal(string(got.raw))
		}
	}
}
