package netutil

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// The secrets the cases below hide somewhere; none may survive redaction.
var secrets = []string{"s3cret", "TOKEN123", "SIGVALUE", "frag"}

func noSecret(t *testing.T, in, got string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("%q redacted to %q: %s survives", in, got, s)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@example.com/a/software.zip?X-Amz-Signature=SIGVALUE#frag": "https://example.com/a/software.zip",
		"https://TOKEN123@example.com/x":                                               "https://example.com/x",
		"http://user:s3cret@127.0.0.1:3128":                                            "http://127.0.0.1:3128",
		"socks5://user:s3cret@[::1]:1080":                                              "socks5://[::1]:1080",
		"https://example.com/x?":                                                       "https://example.com/x",
		"https://example.com/plain":                                                    "https://example.com/plain",
		"https://example.com/x?token=TOKEN123&a=1":                                     "https://example.com/x",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got := Redact(u)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		noSecret(t, in, got)
		if u.String() != in {
			t.Errorf("Redact changed its argument: %q", u)
		}
	}
}

func TestRedactString(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:s3cret@proxy.example:3128": "http://proxy.example:3128",
		"ftp://user:s3cret@proxy.example":       "ftp://proxy.example",
		// Malformed: an unescaped "/", "#", "?" or space in the password,
		// a bad port, an unclosed bracket.
		"http://user:s3/cret@proxy.example:3128":  "http://[redacted]",
		"http://user:s3#cret@proxy.example:3128":  "http://[redacted]",
		"http://user:s3?cret@proxy.example:3128":  "http://[redacted]",
		"http://us er:s3 cret@proxy.example:3128": "http://proxy.example:3128",
		"http://user:s3cret@proxy.example:port":   "http://proxy.example:port",
		"http://user:s3cret@[::1":                 "http://[::1",
		"https://example.com/x?token=TOKEN123":    "https://example.com/x",
		// Without a scheme, nothing says where a password would be.
		"user:s3cret@proxy.example:3128": "",
		"s3cret":                         "",
		"":                               "",
	} {
		got := RedactString(in)
		if got != want {
			t.Errorf("RedactString(%q) = %q, want %q", in, got, want)
		}
		noSecret(t, in, got)
	}
}

func TestRedactText(t *testing.T) {
	for in, want := range map[string]string{
		`Get "https://user:s3cret@example.com/x?token=TOKEN123": dial tcp: refused`: `Get "https://example.com/x": dial tcp: refused`,
		"proxy http://user:s3cret@proxy:3128, then https://TOKEN123@host/a.":        "proxy http://proxy:3128, then https://host/a.",
		"(see https://example.com/doc#frag)":                                        "(see https://example.com/doc)",
		"no URL here: user:s3cret is left alone":                                    "no URL here: user:s3cret is left alone",
		"dial tcp 127.0.0.1:3128: connection refused":                               "dial tcp 127.0.0.1:3128: connection refused",
	} {
		got := RedactText(in)
		if got != want {
			t.Errorf("RedactText(%q)\n = %q\nwant %q", in, got, want)
		}
		if strings.Contains(in, "://") {
			noSecret(t, in, got)
		}
	}
}

func FuzzRedactString(f *testing.F) {
	f.Add("http://user:s3cret@proxy.example:3128")
	f.Add("http://user:s3/cr?e#t@proxy")
	f.Fuzz(func(t *testing.T, pw string) {
		if pw == "" || strings.ContainsAny(pw, "@ \t\r\n\"'<>`") {
			return
		}
		for _, raw := range []string{"http://user:" + pw + "@proxy.example:3128", "https://" + pw + "@host/x"} {
			if got := RedactString(raw); strings.Contains(got, pw) && !strings.Contains("http://proxy.example:3128 https://host/x [redacted]", pw) {
				t.Errorf("RedactString(%q) = %q keeps the password", raw, got)
			}
			// In free text a URL ends at white space: a password with a
			// space or a control character cannot be told apart there.
			if strings.ContainsFunc(pw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
				continue
			}
			if got := RedactText("error: " + raw + ": refused"); strings.Contains(got, pw) && !strings.Contains("error: http://proxy.example:3128: refused error: https://host/x: refused [redacted]", pw) {
				t.Errorf("RedactText keeps the password: %q", got)
			}
		}
	})
}

func TestRedactURLError(t *testing.T) {
	inner := &url.Error{Op: "Get", URL: "https://TOKEN123@example.com/m.json?token=TOKEN123", Err: errors.New("refused")}
	err := fmt.Errorf("update check: %w", RedactURLError(inner))
	if got := err.Error(); got != `update check: Get "https://example.com/m.json": refused` {
		t.Errorf("got %q", got)
	}
	var ue *url.Error
	if !errors.As(err, &ue) || RedactURLError(nil) != nil {
		t.Error("the error's type is lost")
	}
}
