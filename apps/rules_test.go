package apps

import (
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

func TestCheckRelative(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "install.sh", "dir/file.txt", "a..b", "...", "x/..y"} {
		if err := checkRelative(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"..", "../a", "a/../../b", "a/..", "/etc/passwd", "C:/x", "c:x", `a\b`, `..\x`, "a//b", "a/./b", "a\x00b"} {
		if checkRelative(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLinkTargetInside(t *testing.T) {
	cases := []struct {
		name, target string
		ok           bool
	}{
		{"lib/libx.so", "libx.so.1", true},
		{"bin/tool", "../lib/tool", true},
		{"a/b/c", "../../d", true},
		{"a/b/c", "../../..", false},
		{"top", ".", true},
		{"top", "..", false},
		{"a/l", "../../x", false},
		{"a/l", "b/../../x", false},
		{"a/l", "b/../c", false},
		{"a/l", "/etc/passwd", false},
		{"a/l", "C:/Windows", false},
		{"a/l", `..\..\x`, false},
		{"a/l", "", false},
	}
	for _, c := range cases {
		if err := linkTargetInside(c.name, c.target); (err == nil) != c.ok {
			t.Errorf("link %s -> %s: %v, want ok=%v", c.name, c.target, err, c.ok)
		}
	}
}

func TestParseSource(t *testing.T) {
	for _, local := range []string{"software.tar.gz", "./x/software.zip", `C:\pkgs\software.zip`, "/abs/software.tar"} {
		if u, err := parseSource(local); err != nil || u != nil {
			t.Errorf("%q: %v %v", local, u, err)
		}
	}
	if u, err := parseSource("https://example.com/software.zip"); err != nil || u == nil {
		t.Errorf("https: %v %v", u, err)
	}
	for _, bad := range []string{"", "http://example.com/s.zip", "ftp://example.com/s.zip"} {
		if _, err := parseSource(bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range [][2]string{
		{"software.tar.gz", "software"}, {"Acme-CAD-2.1.TGZ", "Acme-CAD-2.1"}, {"x.zip", "x"}, {"plain", "plain"},
	} {
		if got := archiveBaseName(c[0]); got != c[1] {
			t.Errorf("archiveBaseName(%q) = %q", c[0], got)
		}
	}
	for _, c := range [][2]string{{"acme cad", "acme cad"}, {"a:b*c", "a-b-c"}, {"..", ""}, {".hidden", "hidden"}, {"  x. ", "x"}} {
		if got := sanitizeName(c[0]); got != c[1] {
			t.Errorf("sanitizeName(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	for _, bad := range []string{"", ".x", "a/b", `a\b`, "x ", "a\nb", string(make([]byte, 101))} {
		if checkName(bad) == nil {
			t.Errorf("checkName(%q) accepted", bad)
		}
	}
}
