package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
)

// The headless binary links no GUI toolkit: neither fyne nor its GL and
// GLFW bindings nor the screens.
func TestHeadlessLinksNoGUI(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/iscdesk")
	cmd.Dir = testutil.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "fyne.io/") || strings.HasPrefix(dep, "github.com/go-gl/") ||
			dep == "github.com/iscdesk/iscdesk/ui" || dep == "runtime/cgo" {
			t.Errorf("cmd/iscdesk depends on %s", dep)
		}
	}
}

// withWindowStandIn copies the binary into a fresh folder and returns the
// copy's path; with standIn set, a script named like the window binary
// stands beside it, recording how it was started into the file named by
// $ISCDESK_TEST_RECORD, printing a line and exiting with code 5.
func withWindowStandIn(t *testing.T, bin string, standIn bool) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, "iscdesk")
	if err := os.WriteFile(cli, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if standIn {
		writeStandIn(t, dir)
	}
	return cli
}

func writeStandIn(t *testing.T, dir string) {
	t.Helper()
	script := "#!/bin/sh\n" +
		`printf 'argv0=%s\nargs=%s\nmarker=%s\n' "$0" "$#" "$ISCDESK_TEST_MARKER" > "$ISCDESK_TEST_RECORD"` + "\n" +
		"echo window stand-in\nexit 5\n"
	if err := os.WriteFile(filepath.Join(dir, desktopName), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// iscdesk without arguments starts iscdesk-desktop: the one beside it,
// else the one on PATH, with its environment, handing over its exit code
// and output; without one it says so and exits 1.
func TestNoArgumentsStartsTheWindowBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in is a shell script")
	}
	bin := buildBinary(t)
	record := filepath.Join(t.TempDir(), "record")
	emptyPath := t.TempDir()
	env := []string{"PATH=" + emptyPath, "ISCDESK_TEST_RECORD=" + record, "ISCDESK_TEST_MARKER=passed-through", "HOME=" + t.TempDir()}

	check := func(name, cli, wantArgv0 string) {
		t.Helper()
		os.Remove(record)
		r := testutil.Run(t, cli, env)
		got, _ := os.ReadFile(record)
		want := "argv0=" + wantArgv0 + "\nargs=0\nmarker=passed-through\n"
		if r.Code != 5 || r.Stdout != "window stand-in\n" || string(got) != want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q, recorded %q, want %q", name, r.Code, r.Stdout, r.Stderr, got, want)
		}
	}
	beside := withWindowStandIn(t, bin, true)
	check("beside", beside, filepath.Join(filepath.Dir(beside), desktopName))

	alone := withWindowStandIn(t, bin, false)
	r := testutil.Run(t, alone, env)
	if r.Code != exitcode.Internal || r.Stdout != "" || strings.Count(r.Stderr, "\n") != 1 ||
		!strings.HasPrefix(r.Stderr, "iscdesk: no desktop window is installed on this machine") || !strings.Contains(r.Stderr, "iscdesk --help") {
		t.Errorf("no window binary: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	writeStandIn(t, emptyPath)
	check("on PATH", alone, filepath.Join(emptyPath, desktopName))
}
