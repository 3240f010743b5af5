package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// declared is every function iscdesk.h declares.
func declared(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "sdk", "c", "include", "iscdesk.h"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^ISCDESK_API [^;]*?\b(iscdesk_[a-z_]+)\(`).FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	if len(names) < 20 {
		t.Fatalf("iscdesk.h declares only %v", names)
	}
	slices.Sort(names)
	return names
}

// The header's declarations are C89 (a vendor's oldest compiler reads
// them) and C++ (inside extern "C", so the names link unmangled), with
// warnings as errors.
func TestHeaderIsC89AndCpp(t *testing.T) {
	inc := filepath.Join(testutil.ModuleRoot(t), "sdk", "c", "include")
	for _, c := range []struct{ compiler, lang, std string }{
		{"gcc", "c", "c89"}, {"gcc", "c", "c99"}, {"g++", "c++", "c++98"}, {"g++", "c++", "c++17"},
	} {
		cmd := exec.Command(c.compiler, append([]string{"-x", c.lang, "-std=" + c.std, "-pedantic-errors"}, append(strict,
			"-fsyntax-only", filepath.Join(inc, "iscdesk.h"))...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("iscdesk.h as %s: %v\n%s", c.std, err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(inc, "iscdesk.h"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(b)
	if !strings.Contains(h, "#ifdef __cplusplus\nextern \"C\" {") || strings.Contains(h, "//") {
		t.Error(`iscdesk.h lacks extern "C", or has a // comment (not C89)`)
	}
	// Every function links from C++: an unmangled name or a link error.
	src := filepath.Join(t.TempDir(), "all.cpp")
	var calls strings.Builder
	for _, n := range declared(t) {
		calls.WriteString("    (void)&" + n + ";\n")
	}
	if err := os.WriteFile(src, []byte("#include \"iscdesk.h\"\nint main() {\n"+calls.String()+"    return 0;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := library(t)
	cmd := exec.Command("g++", append([]string{"-std=c++17"}, append(strict, "-I", inc, src, "-L", dir, "-liscdesk", "-o", filepath.Join(t.TempDir(), "all"))...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("linking every function from C++: %v\n%s", err, out)
	}
}

// The library exports exactly what the header declares, on Linux and in
// the Windows DLL, and iscdesk.def (the import library's source) lists the
// same names.
func TestExportsMatchTheHeader(t *testing.T) {
	want := declared(t)
	out, err := exec.Command("nm", "-D", "--defined-only", filepath.Join(library(t), "libiscdesk.so")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(regexp.MustCompile(`(?m) T (iscdesk_[a-z_]+)$`), string(out)); !slices.Equal(got, want) {
		t.Errorf("libiscdesk.so exports %v\nthe header declares %v", got, want)
	}
	def, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "sdk", "c", "iscdesk.def"))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(regexp.MustCompile(`(?m)^\s+(iscdesk_[a-z_]+)\s*$`), string(def)); !slices.Equal(got, want) {
		t.Errorf("iscdesk.def lists %v\nthe header declares %v", got, want)
	}
	out, err = exec.Command("x86_64-w64-mingw32-objdump", "-p", filepath.Join(builds(t), "windows-amd64", "iscdesk.dll")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(regexp.MustCompile(`(?m)^\s+\[\s*\d+\] (iscdesk_[a-z_]+)$`), string(out)); !slices.Equal(got, want) {
		t.Errorf("iscdesk.dll exports %v\nthe header declares %v", got, want)
	}
}

func names(re *regexp.Regexp, s string) []string {
	var n []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		n = append(n, m[1])
	}
	slices.Sort(n)
	return slices.Compact(n)
}

// At run time libiscdesk.so needs the C library only (and the desktop
// client running): nothing else to ship.
func TestLinuxLibraryNeedsOnlyLibc(t *testing.T) {
	out, err := exec.Command("objdump", "-p", filepath.Join(library(t), "libiscdesk.so")).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`NEEDED\s+(\S+)`).FindAllStringSubmatch(string(out), -1) {
		if m[1] != "libc.so.6" && m[1] != "ld-linux-x86-64.so.2" {
			t.Errorf("libiscdesk.so needs %s", m[1])
		}
	}
}
