package callback

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The self-computed check value of the spec (marketplace-callbacks.md).
func TestSignVector(t *testing.T) {
	got := Sign("testkey", "abc123", "1680508066618", []byte(`{"instanceId":"inst-1"}`))
	if want := "DB754AD4814A72E1D52ABABC53903544814A12306F5012B752EC6160334813CB"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"instanceId":"inst-1"}`)
	at := time.UnixMilli(1680508066618)
	q := func(sig, ts, nonce string) url.Values {
		return url.Values{ParamSignature: {sig}, ParamTimestamp: {ts}, ParamNonce: {nonce}}
	}
	good := "DB754AD4814A72E1D52ABABC53903544814A12306F5012B752EC6160334813CB"
	for _, c := range []struct {
		name string
		q    url.Values
		body []byte
		now  time.Time
		want error
	}{
		{"upper", q(good, "1680508066618", "abc123"), body, at, nil},
		{"lower", q(strings.ToLower(good), "1680508066618", "abc123"), body, at.Add(59 * time.Second), nil},
		{"61s old", q(good, "1680508066618", "abc123"), body, at.Add(61 * time.Second), ErrTimestamp},
		{"61s ahead", q(good, "1680508066618", "abc123"), body, at.Add(-61 * time.Second), ErrTimestamp},
		{"seconds", q(good, "1680508066", "abc123"), body, at, ErrTimestamp},
		{"body changed", q(good, "1680508066618", "abc123"), []byte(`{"instanceId":"inst-2"}`), at, ErrSignature},
		{"other nonce", q(good, "1680508066618", "abc124"), body, at, ErrSignature},
		{"not hex", q("zz", "1680508066618", "abc123"), body, at, ErrSignature},
		{"missing", q("", "1680508066618", "abc123"), body, at, ErrMissing},
	} {
		t.Run(c.name, func(t *testing.T) {
			nonce, err := Verify("testkey", c.q, c.body, c.now)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err == nil && nonce != "abc123" {
				t.Fatalf("nonce = %q", nonce)
			}
		})
	}
}

func TestSignURLRoundTrip(t *testing.T) {
	now := time.Now()
	body := []byte(`{"activity":"releaseLicenseCode","license":"X"}`)
	raw, err := SignURL("https://vendor.example/cb?product=p1", "k", body, now, "n1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	if u.Query().Get("product") != "p1" {
		t.Fatalf("own query lost: %s", raw)
	}
	if _, err := Verify("k", u.Query(), body, now); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify("other", u.Query(), body, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("other key: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name, body, activity string
		ok                   bool
	}{
		{"refresh", `{"activity":"refreshLicenseCode","scene":"RENEWAL","license":"L","expireTime":"20301231235959"}`, "", true},
		{"refresh by url", `{"scene":"RENEWAL","license":"L","expireTime":"20301231235959"}`, ActivityRefresh, true},
		{"refresh bad time", `{"activity":"refreshLicenseCode","scene":"RENEWAL","license":"L","expireTime":"2030-12-31"}`, "", false},
		{"refresh bad scene", `{"activity":"refreshLicenseCode","scene":"X","license":"L","expireTime":"20301231235959"}`, "", false},
		{"release", `{"activity":"releaseLicenseCode","license":"L","orderId":"o"}`, "", true},
		{"release no license", `{"activity":"releaseLicenseCode"}`, "", false},
		{"async", `{"activity":"getLicenseAsync","instanceId":"i","eventId":"e","effectiveTime":"2023-10-27 10:30:15 z","deviceFingerprint":"a|b|c|d","testFlag":"1"}`, "", true},
		{"async rfc3339", `{"activity":"getLicenseAsync","instanceId":"i","eventId":"e","effectiveTime":"2023-10-27T10:30:15Z","expireTime":"2024-10-27 10:30:15 Z"}`, "", true},
		{"async no event", `{"activity":"getLicenseAsync","instanceId":"i","effectiveTime":"2023-10-27 10:30:15 z"}`, "", false},
		{"async long fp", `{"activity":"getLicenseAsync","instanceId":"i","eventId":"e","effectiveTime":"2023-10-27 10:30:15 z","deviceFingerprint":"` + strings.Repeat("a", 1025) + `"}`, "", false},
		{"mismatch url", `{"activity":"releaseLicenseCode","license":"L"}`, ActivityRefresh, false},
		{"unknown field", `{"activity":"releaseLicenseCode","license":"L","x":1}`, "", false},
		{"trailing", `{"activity":"releaseLicenseCode","license":"L"} {}`, "", false},
		{"no activity", `{"license":"L"}`, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.body), c.activity)
			if (err == nil) != c.ok {
				t.Fatalf("Parse = %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2023, 10, 27, 10, 30, 15, 0, time.UTC)
	for _, s := range []string{"2023-10-27 10:30:15 z", "2023-10-27 10:30:15 Z", "2023-10-27 10:30:15", "2023-10-27T10:30:15Z", "20231027103015"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, _ := ParseTime(FormatTime(want)); !got.Equal(want) {
		t.Errorf("FormatTime round trip: %v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"activity":"getLicenseAsync","instanceId":"i","eventId":"e","effectiveTime":"2023-10-27 10:30:15 z"}`), "")
	f.Add([]byte(`{"scene":"RENEWAL","license":"L","expireTime":"20301231235959"}`), ActivityRefresh)
	f.Fuzz(func(t *testing.T, body []byte, activity string) {
		e, err := Parse(body, activity)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if e.Activity != ActivityRefresh && e.Activity != ActivityRelease && e.Activity != ActivityLicense {
			t.Fatalf("accepted activity %q", e.Activity)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("DB754AD4814A72E1D52ABABC53903544814A12306F5012B752EC6160334813CB", "1680508066618", "abc123", []byte(`{"instanceId":"inst-1"}`))
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte) {
		now := time.UnixMilli(1680508066618)
		q := url.Values{ParamSignature: {sig}, ParamTimestamp: {ts}, ParamNonce: {nonce}}
		if _, err := Verify("testkey", q, body, now); err == nil {
			if !strings.EqualFold(sig, Sign("testkey", nonce, ts, body)) {
				t.Fatalf("accepted a signature that is not the key's")
			}
		}
	})
}

// The header form: same timestamp and nonce rules, the body signed
// directly; a query-form signature does not pass as a header-form one.
func TestVerifyHeader(t *testing.T) {
	body := []byte(`{"instanceId":"inst-1"}`)
	now := time.UnixMilli(1680508066618)
	sig := SignHeader("testkey", "abc123", "1680508066618", body)
	h := map[string]string{HeaderSignature: strings.ToLower(sig), HeaderTimestamp: "1680508066618", HeaderNonce: "abc123"}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if nonce, err := VerifyHeader("testkey", get(h), body, now); err != nil || nonce != "abc123" {
		t.Fatalf("VerifyHeader = %q, %v", nonce, err)
	}
	if _, err := VerifyHeader("testkey", get(h), []byte(`{}`), now); !errors.Is(err, ErrSignature) {
		t.Fatalf("body changed: %v", err)
	}
	if _, err := VerifyHeader("testkey", get(h), body, now.Add(61*time.Second)); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("61 s: %v", err)
	}
	h[HeaderSignature] = Sign("testkey", "abc123", "1680508066618", body)
	if _, err := VerifyHeader("testkey", get(h), body, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("query-form signature accepted: %v", err)
	}
	delete(h, HeaderNonce)
	if _, err := VerifyHeader("testkey", get(h), body, now); !errors.Is(err, ErrMissing) {
		t.Fatalf("no nonce: %v", err)
	}
}

func FuzzVerifyHeader(f *testing.F) {
	f.Add(SignHeader("testkey", "abc123", "1680508066618", []byte(`{}`)), "1680508066618", "abc123", []byte(`{}`))
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte) {
		h := map[string]string{HeaderSignature: sig, HeaderTimestamp: ts, HeaderNonce: nonce}
		_, err := VerifyHeader("testkey", func(k string) string { return h[k] }, body, time.UnixMilli(1680508066618))
		if err == nil && !strings.EqualFold(sig, SignHeader("testkey", nonce, ts, body)) {
			t.Fatal("accepted a signature that is not the key's")
		}
	})
}
