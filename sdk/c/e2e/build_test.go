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
// (sdk/c/build.sh: linux-amd64/libiscdesk.so, windows-amd64/iscdesk.dll and
// iscdesk.lib): the tests then use that build instead of building their
// own, so that a `make test` run builds the library once.
const DirEnv = "ISCDESK_SDK_C_BUILD"

var lib struct {
	once sync.Once
	dir  string
	err  string
}

// builds returns the folder of sdk/c/build.sh's output, running it once per
// test binary unless DirEnv names a build.
func builds(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the C library is built and tested on linux/amd64 (the Windows DLL is cross-built there with MinGW)")
	}
	if testing.Short() && os.Getenv(DirEnv) == "" {
		t.Skip("builds the C library (set " + DirEnv + " to a build of sdk/c/build.sh to use it)")
	}
	lib.once.Do(func() {
		if d := os.Getenv(DirEnv); d != "" {
			lib.dir = d
			return
		}
		d, err := os.MkdirTemp("", "iscdesk-sdk-c-")
		if err != nil {
			lib.err = err.Error()
			return
		}
		lib.dir = d
		cmd := exec.Command("bash", filepath.Join(testutil.ModuleRoot(t), "sdk", "c", "build.sh"), d)
		if out, err := cmd.CombinedOutput(); err != nil {
			lib.err = "sdk/c/build.sh: " + err.Error() + "\n" + string(out)
		}
	})
	if lib.err != "" {
		t.Fatal(lib.err)
	}
	return lib.dir
}

// library returns the folder holding libiscdesk.so.
func library(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(builds(t), "linux-amd64")
	if _, err := os.Stat(filepath.Join(dir, "libiscdesk.so")); err != nil {
		t.Fatal(err)
	}
	return dir
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
