package safename

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, good := range []string{"acme-cad", "gearbox.asm", "齿轮箱", "a b", "CONSOLE", strings.Repeat("x", MaxLen)} {
		if err := Check(good); err != nil {
			t.Errorf("Check(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", ".", "..", ".x", "a/b", `a\b`, "a:b", "x ", " x", "x.", "a\nb", "a\x00b",
		"CON", "nul.txt", "Com1", "\xff\xfe", strings.Repeat("x", MaxLen+1)} {
		if Check(bad) == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{"acme cad": "acme cad", "a:b*c": "a-b-c", "..": "", ".hidden": "hidden",
		"  x. ": "x", "CON": "", "a\xffb": "a-b", strings.Repeat("é", 60): strings.Repeat("é", 50)} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("acme:cad..")
	f.Fuzz(func(t *testing.T, s string) {
		if out := Sanitize(s); out != "" && Check(out) != nil {
			t.Fatalf("Sanitize(%q) = %q, which Check refuses: %v", s, out, Check(out))
		}
	})
}
