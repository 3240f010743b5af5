package marketplace

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// FuzzParseResponse feeds arbitrary answers to the path every answer takes
// (judge, then the activation or query parser). Nothing may panic; an error
// must be clean text; a license must have a known status and UTC times.
func FuzzParseResponse(f *testing.F) {
	seeds := []string{
		activateOK, queryOK("ALIVE"), queryOK("EXPIRED"), usageOK,
		codeAnswer(wire.CodeNotExist, "no such code"), codeAnswer("APIG.0301", "bad signature"),
		`{"error_code":"92020000","data":{"license_code_info":{"status":"RELEASED","amount":"1"}}}`,
		`{"error_code":"92020000","data":{"status":"ALIVE","expire_time":"2027-07-26T20:16:46+08:00"}}`,
		`{"error_code":"92020002","error_msg":"x","data":{"failed":[{"license":"PL1"}]}}`,
		`{"error_code":"92020000","data":{"failed":[{"license":"PL1","error_code":"92020003"}]}}`,
		`{"error_code":92020000,"data":{"license_code_info":"{\"amount\":1e308}"}}`,
		`{"error_code":"92020000"`, `null`, `[]`, ``, "<html>", "{\"error_msg\":\"\x1b\u202e\"}",
	}
	for i, s := range seeds {
		f.Add([]byte(s), []int{200, 401, 403, 429, 502}[i%5])
	}
	c := &Client{redactor: redactorFor(testCred)}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		status = 100 + (status%900+900)%900
		for _, op := range []string{opActivate, opQuery, opUsage} {
			out := c.judge(op, answer{status: status, body: body})
			if out.err != nil {
				checkErrorText(t, out.err)
				continue
			}
			if failed, code := usageFailure(out.data); failed && usageEntryKind(code) == errs.Other && code == "" {
				t.Fatalf("a listed entry without a code has kind Other")
			}
			if lic, err := parseActivateData(testCode, out.data); err == nil {
				checkLicense(t, lic)
			} else {
				checkErrorText(t, c.protocolError(op, err))
			}
			if lic, err := parseQueryData(testCode, out.data); err == nil {
				checkLicense(t, lic)
			} else {
				checkErrorText(t, c.protocolError(op, err))
			}
		}
	})
}

func checkErrorText(t *testing.T, err error) {
	t.Helper()
	s := err.Error()
	if !utf8.ValidString(s) || strings.IndexFunc(s, isControl) >= 0 || len(s) > 2048 {
		t.Fatalf("error text not clean or too long (%d bytes): %q", len(s), s)
	}
}

func checkLicense(t *testing.T, lic licensing.License) {
	t.Helper()
	if _, err := parseStatus(string(lic.Status)); err != nil {
		t.Fatalf("license with status %q", lic.Status)
	}
	for _, tm := range []time.Time{lic.ExpireTime, lic.ActivateTime} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Fatalf("time %v not in UTC", tm)
		}
	}
	if lic.Amount < 0 || math.IsNaN(lic.Amount) || math.IsInf(lic.Amount, 0) {
		t.Fatalf("amount %v", lic.Amount)
	}
}
