package e2e_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// TestMinGWCrossBuild checks the Windows kit as far as this machine can:
// iscdesk.dll and its import library iscdesk.lib cross-built with MinGW,
// and the C test program and the C and C++ examples built against them
// with -Wall -Wextra -Werror, each a PE32+ program that imports
// iscdesk.dll.
//
// Running them is not possible here: Debian's wine 8 lacks ProcessPrng
// (bcryptprimitives.dll), which the Go 1.26 runtime inside iscdesk.dll calls
// at start, so the DLL cannot load under it. They run on Windows; a newer
// wine would run them.
func TestMinGWCrossBuild(t *testing.T) {
	win := filepath.Join(builds(t), "windows-amd64")
	root := testutil.ModuleRoot(t)
	inc := filepath.Join(root, "sdk", "c", "include")
	for _, p := range []struct{ compiler, std, src string }{
		{"x86_64-w64-mingw32-gcc", "c99", "sdk/c/test/ctest.c"},
		{"x86_64-w64-mingw32-gcc", "c99", "sdk/c/examples/example.c"},
		{"x86_64-w64-mingw32-g++", "c++17", "sdk/c/examples/example.cpp"},
	} {
		if _, err := exec.LookPath(p.compiler); err != nil {
			t.Fatalf("%s is missing (make deps installs it)", p.compiler)
		}
		exe := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(p.src), filepath.Ext(p.src))+".exe")
		args := append([]string{"-std=" + p.std}, strict...)
		args = append(args, "-I", inc, filepath.Join(root, p.src), filepath.Join(win, "iscdesk.lib"), "-o", exe)
		if out, err := exec.Command(p.compiler, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", p.compiler, strings.Join(args, " "), err, out)
		}
		out, err := exec.Command("x86_64-w64-mingw32-objdump", "-f", "-p", exe).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "file format pei-x86-64") || !strings.Contains(string(out), "DLL Name: iscdesk.dll") {
			t.Errorf("%s is not a PE32+ program importing iscdesk.dll:\n%s", p.src, out)
		}
	}
	out, err := exec.Command("x86_64-w64-mingw32-objdump", "-f", "-p", filepath.Join(win, "iscdesk.dll")).Output()
	if err != nil || !strings.Contains(string(out), "file format pei-x86-64") {
		t.Fatalf("iscdesk.dll: %v\n%s", err, out)
	}
	// At run time the DLL needs Windows' own DLLs only (no MinGW runtime
	// such as libgcc_s_seh-1.dll or libwinpthread-1.dll to ship).
	for _, m := range regexp.MustCompile(`DLL Name: (\S+)`).FindAllStringSubmatch(string(out), -1) {
		if dll := strings.ToUpper(m[1]); dll != "KERNEL32.DLL" && dll != "MSVCRT.DLL" && !strings.HasPrefix(dll, "API-MS-WIN-") {
			t.Errorf("iscdesk.dll imports %s, which Windows does not have", m[1])
		}
	}
	t.Log("built, not run: Debian's wine 8 lacks ProcessPrng, which Go 1.26's runtime in iscdesk.dll needs")
}
