package sandbox

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// FuzzHandler feeds arbitrary bodies, signed or not, to the three endpoints
// and the extension's signed ones: the handler never panics and always
// answers a JSON object with an error_code.
func FuzzHandler(f *testing.F) {
	paths := []string{wire.PathActivate, wire.PathQuery, wire.PathUsage,
		wire.PathDeviceLicense, wire.PathVendorKey}
	for _, seed := range []string{
		`{"license":"PLFUZZACTIVE","dev_info":"00:11:22:33:44:55|DISK1|BOARD|CPU"}`,
		`{"license":"PLFUZZACTIVE","dev_info":"a|b|c|d","not_after":"20260401000000"}`,
		`{"license":"PLFUZZREADY","dev_info":"a|b|c"}`,
		`{}`,
		`{"license":"PLFUZZREADY"}`,
		`{"license":"PLFUZZACTIVE","real_effect_time":"20260101000000"}`,
		`{"license":"PLFUZZUNDELIVERED"}`,
		`{"usage_info":[{"license":"PLFUZZACTIVE","software_usage_Info":[{"id":"u"},{"active_num":3}]}]}`,
		`{"usage_info":[{"license":"PLX","software_usage_Info":[{"id":"u","active_num":3}]}]}`,
		`{"license":null}`, `[]`, `null`, `"x"`, `{`, ``, "\xff\xfe",
	} {
		for sel := range 2 * len(paths) {
			f.Add(uint8(sel), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, body []byte) {
		now := time.Date(2026, 3, 17, 14, 42, 37, 0, time.UTC)
		srv := fuzzServer(now)
		r := httptest.NewRequest(http.MethodPost, paths[int(sel)%len(paths)], bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if sel/uint8(len(paths))%2 == 0 {
			if err := aksk.Sign(r, body, srv.Credentials(), now); err != nil {
				t.Fatal(err)
			}
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer %d is not a JSON object: %v: %q", w.Code, err, w.Body.Bytes())
		}
		if code, _ := answer["error_code"].(string); code == "" {
			t.Fatalf("answer %d without error_code: %s", w.Code, w.Body.Bytes())
		}
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized {
			t.Fatalf("unexpected HTTP status %d: %s", w.Code, w.Body.Bytes())
		}
	})
}

// fuzzServer is an in-memory sandbox built without randomness, afresh for
// every input: the fuzzer can only minimise what it finds when the same
// input takes the same path, and an activation or a random key would change
// the next one.
func fuzzServer(now time.Time) *Server {
	code := func(c string, delivered bool, activated time.Time) codeRecord {
		return codeRecord{Code: c, Delivered: delivered, Status: licensing.StatusAlive,
			TermSeconds: int64(DefaultTerm / time.Second), ActivatedAt: activated,
			ExpireTime: activated.Add(DefaultTerm), ProductID: DemoProductID, OrderID: "CS1", Amount: 1}
	}
	seed := make([]byte, ed25519.SeedSize) // a fixed key: only the jti of a license is random
	return &Server{
		now:    func() time.Time { return now },
		log:    slog.New(slog.DiscardHandler),
		vendor: ed25519.NewKeyFromSeed(seed),
		st: &state{Version: stateVersion, AK: "FUZZAK", SK: "FUZZSK", VendorKey: seed, Codes: []codeRecord{
			code("PLFUZZREADY", true, time.Time{}),
			code("PLFUZZACTIVE", true, now.Add(-time.Hour)),
			code("PLFUZZUNDELIVERED", false, time.Time{}),
		}},
	}
}
