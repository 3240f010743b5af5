package marketplace

import (
	"net/http"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// resultCases exercises every row of resultTable through a real round trip.
var resultCases = []struct {
	name   string
	status int
	body   string
	kind   errs.Kind
	retry  bool
	code   string // want Error.Code
}{
	{"success on an HTTP error", 500, codeAnswer(wire.CodeSuccess, "success"), errs.Protocol, false, wire.CodeSuccess},
	{"internal error", 200, codeAnswer(wire.CodeInternal, "internal error"), errs.Unavailable, true, wire.CodeInternal},
	{"internal error 403", 403, codeAnswer(wire.CodeInternal, "unauthorized"), errs.Credentials, false, wire.CodeInternal},
	{"invalid parameter", 200, codeAnswer(wire.CodeInvalidParameter, "invalid parameter"), errs.Invalid, false, wire.CodeInvalidParameter},
	{"request invalid", 400, codeAnswer(wire.CodeRequestInvalid, "bad request"), errs.Invalid, false, wire.CodeRequestInvalid},
	{"batch invalid", 200, codeAnswer(wire.CodeBatchInvalid, "invalid code in batch"), errs.Invalid, false, wire.CodeBatchInvalid},
	{"illegal state outside activate", 200, codeAnswer(wire.CodeIllegalState, "illegal state"), errs.Other, false, wire.CodeIllegalState},
	{"not delivered", 200, codeAnswer(wire.CodeNotDelivered, "not received"), errs.NotDelivered, false, wire.CodeNotDelivered},
	{"not exist", 200, codeAnswer(wire.CodeNotExist, "no such code"), errs.NotFound, false, wire.CodeNotExist},
	{"not activated", 200, codeAnswer(wire.CodeNotActivated, "not activated"), errs.NotActivated, false, wire.CodeNotActivated},
	{"method", 405, codeAnswer(wire.CodeMethodNotSupported, "method"), errs.Other, false, wire.CodeMethodNotSupported},
	{"content type", 415, codeAnswer(wire.CodeContentType, "content type"), errs.Other, false, wire.CodeContentType},
	{"body not readable", 400, codeAnswer(wire.CodeBodyNotReadable, "body"), errs.Other, false, wire.CodeBodyNotReadable},
	{"gateway API not found", 404, codeAnswer(wire.GatewayNotFound, "API not found"), errs.Protocol, false, wire.GatewayNotFound},
	{"gateway backend 502", 502, codeAnswer(wire.GatewayBackend, "backend unavailable"), errs.Unavailable, true, wire.GatewayBackend},
	{"gateway backend 504", 504, codeAnswer(wire.GatewayBackend, "backend timeout"), errs.Unavailable, true, wire.GatewayBackend},
	{"gateway backend 413", 413, codeAnswer(wire.GatewayBackend, "entity too large"), errs.Unavailable, false, wire.GatewayBackend},
	{"gateway bad signature", 401, codeAnswer(wire.GatewayBadSignature, "signature"), errs.Credentials, false, wire.GatewayBadSignature},
	{"gateway forbidden", 403, codeAnswer(wire.GatewayForbidden, "forbidden"), errs.Credentials, false, wire.GatewayForbidden},
	{"gateway bad app auth", 401, codeAnswer(wire.GatewayBadAppAuth, "app auth"), errs.Credentials, false, wire.GatewayBadAppAuth},
	{"dedicated gateway signature", 401, codeAnswer("APIG.0301", "signature"), errs.Credentials, false, "APIG.0301"},
	{"dedicated gateway forbidden", 403, codeAnswer("APIG.0302", "forbidden"), errs.Credentials, false, "APIG.0302"},
	{"dedicated gateway app auth", 401, codeAnswer("APIG.0303", "app auth"), errs.Credentials, false, "APIG.0303"},
	{"dedicated gateway not found", 404, codeAnswer("APIG.0101", "API not found"), errs.Protocol, false, "APIG.0101"},
	{"dedicated gateway backend 504", 504, codeAnswer("APIG.0201", "timeout"), errs.Unavailable, true, "APIG.0201"},
	{"unknown code", 200, codeAnswer("92029999", "new"), errs.Protocol, false, "92029999"},
	{"unknown code 429", 429, codeAnswer("APIGW.0308", "throttled"), errs.Unavailable, true, "APIGW.0308"},
	{"unknown code 503", 503, codeAnswer("APIGW.0999", "busy"), errs.Unavailable, true, "APIGW.0999"},
	{"no code 200", 200, `{"error_msg":"fine"}`, errs.Protocol, false, "HTTP 200"},
	{"no code 300", 300, "", errs.Protocol, false, "HTTP 300"},
	{"no code 401", 401, "<html>401</html>", errs.Credentials, false, "HTTP 401"},
	{"no code 403", 403, "", errs.Credentials, false, "HTTP 403"},
	{"no code 408", 408, "", errs.Unavailable, true, "HTTP 408"},
	{"no code 429", 429, `{"message":"slow down"}`, errs.Unavailable, true, "HTTP 429"},
	{"no code 404", 404, "not found", errs.Protocol, false, "HTTP 404"},
	{"no code 500", 500, "", errs.Unavailable, true, "HTTP 500"},
	{"no code 502 HTML", 502, "<html>Bad Gateway</html>", errs.Unavailable, true, "HTTP 502"},
	{"no code 503 truncated JSON", 503, `{"error_code":"920`, errs.Unavailable, true, "HTTP 503"},
	{"no code 600", 600, "", errs.Protocol, false, "HTTP 600"},
}

// TestResultCodes runs every case against every call: the kind, the code, and
// whether the client retried (MaxAttempts requests) or stopped (one).
func TestResultCodes(t *testing.T) {
	ops := []struct {
		name string
		path string
		call func(testClient) error
	}{
		{"activate", wire.PathActivate, func(c testClient) error { _, err := c.activate(c.tb.Context(), testCode); return err }},
		{"query", wire.PathQuery, func(c testClient) error { _, err := c.query(c.tb.Context(), testCode); return err }},
		{"usage", wire.PathUsage, func(c testClient) error { return c.usage(c.tb.Context(), testCode, "device") }},
	}
	for _, tc := range resultCases {
		for _, op := range ops {
			if tc.code == wire.CodeIllegalState && op.name == "activate" {
				continue // activation confirms with a query: TestActivateAlreadyActivated
			}
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				f := newFakeServer(t, reply(tc.status, tc.body))
				c := newTestClient(t, f.srv.URL)
				err := op.call(c)
				wantKind(t, err, tc.kind)
				var le *errs.Error
				if !asError(err, &le) || le.Code != tc.code || le.Op != op.name {
					t.Errorf("error %#v, want op %q code %q", err, op.name, tc.code)
				}
				want := 1
				if tc.retry {
					want = 3
				}
				if n := f.count(op.path); n != want {
					t.Errorf("%d requests, want %d", n, want)
				}
			})
		}
	}
}

// Every row of the table is reached by some case above.
func TestResultTableCovered(t *testing.T) {
	reached := map[rule]bool{lookup(wire.CodeSuccess, 200): true} // every other test
	for _, tc := range resultCases {
		env, _ := decodeEnvelope([]byte(tc.body))
		reached[lookup(strings.TrimSpace(string(env.ErrorCode)), tc.status)] = true
	}
	for i, r := range resultTable {
		if !reached[r] {
			t.Errorf("row %d %+v is not exercised by resultCases", i, r)
		}
	}
}

func TestLookupEdges(t *testing.T) {
	if r := lookup(wire.CodeSuccess, http.StatusOK); !r.ok {
		t.Errorf("success: %+v", r)
	}
	if r := lookup("APIG.", 200); r.kind != errs.Protocol {
		t.Errorf("bare APIG. prefix: %+v", r)
	}
	if r := lookup(anyCode, 200); r.kind != errs.Protocol || r.ok {
		t.Errorf("literal %q code: %+v", anyCode, r)
	}
}

func TestClean(t *testing.T) {
	c := &Client{redactor: redactorFor(testCred)}
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"  line\nbreak\ttab\r ", "line break tab"},
		{"esc\x1b[0m bell\a nul\x00", "esc[0m bell nul"},
		{"bidi \u202eevil\u202c zero\u200bwidth", "bidi evil zerowidth"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"key " + testAK + " secret " + testSK, "key " + "AKca************ secret [redacted]"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := c.clean(tt.in, 200); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (&Client{}).clean("no keys", 200); got != "no keys" {
		t.Errorf("without credentials: %q", got)
	}
}
