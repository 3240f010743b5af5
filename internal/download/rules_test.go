package download

import (
	"net/url"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in            string
		start, length int64
		ok            bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes */200", -1, 200, true},
		{"bytes 100-99/200", 0, 0, false},
		{"bytes 100-200/200", 0, 0, false},
		{"bytes 100-/200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
		{"bytes -1-5/10", 0, 0, false},
	}
	for _, c := range cases {
		start, length, err := parseContentRange(c.in)
		if (err == nil) != c.ok || c.ok && (start != c.start || length != c.length) {
			t.Errorf("%q: %d %d %v", c.in, start, length, err)
		}
	}
}

// FuzzParseContentRange: whatever a server sends, an accepted range is
// consistent: a start inside the length, or the "*" forms.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 5-9/*", "bytes */200", "bytes -1-5/10", "bytes 0-0/1", "bytes 9223372036854775807-9223372036854775807/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, length, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < -1 || length < -1 || (start >= 0 && length >= 0 && start >= length) {
			t.Errorf("%q: start %d, length %d accepted", s, start, length)
		}
	})
}

func TestParseURL(t *testing.T) {
	for _, ok := range []string{"https://example.com/software.zip", "http://127.0.0.1:8080/s.zip", "http://localhost/s.zip", "http://[::1]/s.zip"} {
		if _, err := ParseURL(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "http://example.com/s.zip", "http://10.0.0.1/s.zip", "ftp://example.com/s.zip", "https://", "%zz://x"} {
		if _, err := ParseURL(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for in, want := range map[string]string{"https://example.com/a/software.zip?x=1": "software.zip", "https://example.com/": "example.com", "https://example.com": "example.com"} {
		u, _ := url.Parse(in)
		if got := BaseName(u); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSHA256(t *testing.T) {
	if b, err := ParseSHA256(""); b != nil || err != nil {
		t.Errorf("empty: %v %v", b, err)
	}
	if b, err := ParseSHA256(" " + "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd" + "\n"); len(b) != 32 || err != nil {
		t.Errorf("valid: %v %v", b, err)
	}
	for _, bad := range []string{"ab", "zz0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"} {
		if _, err := ParseSHA256(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
