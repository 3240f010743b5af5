package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// DirEnv names a folder where `make sdk-c` already built the library
// (libiscdesk.so and iscdesk.h): the tests then link against that build
// instead of building their own, so a `make test` run builds it once.
const DirEnv = "ISCDESK_SDK_C_BUILD"

var lib struct {
	once sync.Once
	dir  string
	err  string
}

// library returns the folder holding libiscdesk.so, building it once per
// test binary unless DirEnv names a build.
func library(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the C library's tests run on Linux (the Windows DLL is cross-built and checked by TestMinGWCrossBuild)")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	lib.once.Do(func() {
		if d := os.Getenv(DirEnv); d != "" {
			if _, err := os.Stat(filepath.Join(d, "libiscdesk.so")); err != nil {
				lib.err = DirEnv + ": " + err.Error()
			}
			lib.dir = d
			return
		}
		d, err := os.MkdirTemp("", "iscdesk-sdk-c-")
		if err != nil {
			lib.err = err.Error()
			return
		}
		lib.dir = d
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-buildmode=c-shared",
			"-o", filepath.Join(d, "libiscdesk.so"), "./sdk/c/libiscdesk")
		cmd.Dir = testutil.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			lib.err = "go build -buildmode=c-shared: " + err.Error() + "\n" + string(out)
		}
	})
	if lib.err != "" {
		t.Fatal(lib.err)
	}
	return lib.dir
}

// removeLibrary deletes the library when the tests built it.
func removeLibrary() {
	if lib.dir != "" && os.Getenv(DirEnv) == "" {
		os.RemoveAll(lib.dir)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	removeLibrary()
	testutil.RemoveBinaries()
	os.Exit(code)
}

// Strict flags for every C and C++ program built against the library.
var strict = []string{"-Wall", "-Wextra", "-Werror"}

// compile builds C (gcc) or C++ (g++) sources against the library into
// the test's folder and returns the program's path; an argument starting
// with -D is a define.
func compile(t testing.TB, compiler string, std string, sources ...string) string {
	t.Helper()
	if _, err := exec.LookPath(compiler); err != nil {
		t.Fatalf("%s is missing (make deps installs it)", compiler)
	}
	dir := library(t)
	root := testutil.ModuleRoot(t)
	bin := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(sources[0]), filepath.Ext(sources[0])))
	if compiler == "g++" {
		bin += "_cpp"
	}
	args := append([]string{"-std=" + std, "-D_POSIX_C_SOURCE=200809L"}, strict...)
	args = append(args, "-I", filepath.Join(root, "sdk", "c", "include"))
	for _, s := range sources {
		if strings.HasPrefix(s, "-D") {
			args = append(args, s)
		} else {
			args = append(args, filepath.Join(root, s))
		}
	}
	args = append(args, "-L", dir, "-liscdesk", "-lpthread", "-Wl,-rpath,"+dir, "-o", bin)
	if out, err := exec.Command(compiler, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", compiler, strings.Join(args, " "), err, out)
	}
	return bin
}
