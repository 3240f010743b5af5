package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/keys"
)

type keysPublic = keys.Public

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Every request body the server parses has a fuzz target.

func FuzzParseActivate(f *testing.F) {
	f.Add([]byte(`{"code":"PLABC","fingerprint":"A|B|C|D","device_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","host":"h","app":"a","version":"1","request_id":"12345678"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := httpapi.ParseActivate(body); err == nil && !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

func FuzzParseCheck(f *testing.F) {
	f.Add([]byte(`{"activation_id":"act_1","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef","fingerprint":"A|B|C|D"}`), "AAAA")
	f.Add([]byte(`{"time":"x"}`), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r, err := httpapi.ParseCheck(body, sig)
		if err == nil && (r.Time.IsZero() || string(r.Body) != string(body)) {
			t.Fatalf("accepted %q without a time or with other body bytes", body)
		}
	})
}

func FuzzParseDeviceLicense(f *testing.F) {
	f.Add([]byte(`{"activation_id":"act_1","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef","devinfo":"A|B|C|D","not_after":"2027-01-01T00:00:00Z"}`), "AAAA")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r, err := httpapi.ParseDeviceLicense(body, sig)
		if err == nil && string(r.Body) != string(body) {
			t.Fatal("signed bytes differ from the body")
		}
	})
}

func FuzzParseLease(f *testing.F) {
	f.Add([]byte(`{"activation_id":"act_1","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef","request_id":"12345678","app":"cad"}`), "AAAA")
	f.Add([]byte(`{"activation_id":"act_1","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef","request_id":"12345678","borrow_days":3,"devinfo":"A|B|C|D"}`), "AAAA")
	f.Add([]byte(`{"borrow_days":1e99}`), "")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		r, err := httpapi.ParseLease(body, sig)
		if err == nil && (r.Time.IsZero() || string(r.Body) != string(body) || len(r.Signature) == 0) {
			t.Fatalf("accepted %q without a time, a signature or with other body bytes", body)
		}
	})
}
