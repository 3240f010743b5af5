package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// TestKit assembles the vendors' kit as `make sdk-c` does (sdk/c/kit.sh),
// builds its examples with CMake as its README says (find_library), and
// runs both the CMake build and the kit's own prebuilt example, which
// finds libiscdesk.so through its run path, against a real agent.
func TestKit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the kit and starts the whole chain")
	}
	cmake, err := exec.LookPath("cmake")
	if err != nil {
		t.Fatal("cmake is missing (make deps installs it)")
	}
	root := testutil.ModuleRoot(t)
	kit := filepath.Join(t.TempDir(), "sdk")
	if out, err := exec.Command("bash", filepath.Join(root, "sdk", "c", "kit.sh"), builds(t), kit).CombinedOutput(); err != nil {
		t.Fatalf("kit.sh: %v\n%s", err, out)
	}
	for _, f := range []string{"README.md", "include/iscdesk.h", "include/iscdesk.hpp", "python/iscdesk.py",
		"linux-amd64/libiscdesk.so", "windows-amd64/iscdesk.dll", "windows-amd64/iscdesk.lib",
		"windows-amd64/bin/example.exe", "windows-amd64/bin/example_cpp.exe", "examples/CMakeLists.txt"} {
		if _, err := os.Stat(filepath.Join(kit, f)); err != nil {
			t.Errorf("the kit lacks %s", f)
		}
	}
	build := filepath.Join(t.TempDir(), "build")
	for _, args := range [][]string{
		{"-S", filepath.Join(kit, "examples"), "-B", build, "-DISCDESK_SDK=" + kit},
		{"--build", build},
	} {
		if out, err := exec.Command(cmake, args...).CombinedOutput(); err != nil {
			t.Fatalf("cmake %v: %v\n%s", args, err, out)
		}
	}
	c := startChain(t)
	part := filepath.Join(c.work, "part.prt")
	for _, bin := range []string{
		filepath.Join(build, "example"), filepath.Join(build, "example_cpp"),
		filepath.Join(kit, "linux-amd64", "bin", "example"), filepath.Join(kit, "linux-amd64", "bin", "example_cpp"),
	} {
		out, operates := c.runProgram(t, bin, exec.Command(bin, c.key, part))
		checkExample(t, out, operates)
	}
}
