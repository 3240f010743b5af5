package aksk

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The published test vectors of the marketplace spec.
func TestPublishedVectors(t *testing.T) {
	tests := []struct {
		name, method, url, date, ak, sk, body string
		headers                               map[string]string
		signed                                []string
		want                                  string
	}{
		{
			name: "A activate", method: "POST",
			url:  "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/license/activate",
			date: "20240317T144237Z", ak: "test", sk: "123",
			headers: map[string]string{"Content-Type": "application/json", "x-stage": "RELEASE"},
			signed:  []string{"content-type", "host", "x-sdk-date", "x-stage"},
			want:    "77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d",
		},
		{
			name: "B GET query", method: "GET", url: "https://example.huaweicloud.com/path?limit=1",
			date: "20060102T150405Z", ak: "AccessKey", sk: "SecretKey",
			signed: []string{"x-sdk-date"},
			want:   "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624",
		},
		{
			name: "C POST body", method: "POST", url: "https://example.huaweicloud.com/path?key=value",
			date: "20060102T150405Z", ak: "AccessKey", sk: "SecretKey", body: "{\"Name\":\"test\",\"Id\":1}\n",
			signed: []string{"x-sdk-date"},
			want:   "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			r.Header = http.Header{}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			r.Header.Set(DateHeader, tt.date)
			got, err := Signature(r, []byte(tt.body), tt.sk, tt.signed)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				cr, _ := CanonicalRequest(r, []byte(tt.body), tt.signed)
				t.Errorf("signature = %s, want %s\ncanonical request:\n%s", got, tt.want, cr)
			}
		})
	}
}

// Vector A through Sign: all headers present are signed, plus host.
func TestSignSetsHeaders(t *testing.T) {
	r := httptest.NewRequest("POST", "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/license/activate", nil)
	r.Header = http.Header{}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("x-stage", "RELEASE")
	now := time.Date(2024, 3, 17, 14, 42, 37, 0, time.UTC)
	if err := Sign(r, nil, Credentials{AK: "test", SK: "123"}, now); err != nil {
		t.Fatal(err)
	}
	want := "SDK-HMAC-SHA256 Access=test, SignedHeaders=content-type;host;x-sdk-date;x-stage, " +
		"Signature=77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d"
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q\nwant %q", got, want)
	}
	if got := r.Header.Get(DateHeader); got != "20240317T144237Z" {
		t.Errorf("date = %q", got)
	}
}

func TestEscapePublishedExample(t *testing.T) {
	const want = "%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
	if got := Escape("一 (&=?!#%.*)"); got != want {
		t.Errorf("Escape = %s, want %s", got, want)
	}
	r := httptest.NewRequest("GET", "https://h/p?b=2&a="+want, nil)
	cr, err := CanonicalRequest(r, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(cr, "\n"); lines[1] != "/p/" || lines[2] != "a="+want+"&b=2" {
		t.Errorf("canonical URI/query = %q / %q", lines[1], lines[2])
	}
}

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cred := Credentials{AK: "AK1234567", SK: "the-secret"}
	lookup := func(ak string) (string, bool) { return cred.SK, ak == cred.AK }
	body := []byte(`{"license":"PL1"}`)
	mk := func(signedAt time.Time, c Credentials) *http.Request {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/api/x", bytes.NewReader(body))
		r.Header = http.Header{"Content-Type": {"application/json"}}
		if err := Sign(r, body, c, signedAt); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if ak, err := Verify(mk(now, cred), body, lookup, now); err != nil || ak != cred.AK {
		t.Fatalf("Verify good = %q, %v", ak, err)
	}
	cases := []struct {
		name string
		r    *http.Request
		body []byte
		want error
	}{
		{"tampered body", mk(now, cred), []byte(`{"license":"PL2"}`), ErrBadSignature},
		{"wrong secret", mk(now, Credentials{AK: cred.AK, SK: "other"}), body, ErrBadSignature},
		{"unknown key", mk(now, Credentials{AK: "nobody", SK: "x"}), body, ErrUnknownKey},
		{"16 minutes old", mk(now.Add(-16*time.Minute), cred), body, ErrClockSkew},
		{"16 minutes ahead", mk(now.Add(16*time.Minute), cred), body, ErrClockSkew},
	}
	for _, c := range cases {
		if _, err := Verify(c.r, c.body, lookup, now); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := Verify(mk(now.Add(-14*time.Minute), cred), body, lookup, now); err != nil {
		t.Errorf("14 minutes old: %v", err)
	}
	r := mk(now, cred)
	r.Header.Set("Authorization", "Basic abc")
	if _, err := Verify(r, body, lookup, now); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
}

func TestCredentialsNeverPrintSecret(t *testing.T) {
	c := Credentials{AK: "AKVERYSECRETID", SK: "SKVERYSECRET"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c)} {
		if strings.Contains(s, c.SK) || strings.Contains(s, c.AK) {
			t.Errorf("printed %q", s)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(`{"license":"PL0123456789ABCDEF"}`)
	cred := Credentials{AK: "AK", SK: "SK"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest("POST", "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/license/activate", nil)
		r.Header.Set("Content-Type", "application/json")
		if err := Sign(r, body, cred, now); err != nil {
			b.Fatal(err)
		}
	}
}
