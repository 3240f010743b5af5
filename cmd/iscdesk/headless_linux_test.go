package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/exitcode"
)

// The headless binary is static: no program interpreter (the dynamic
// loader) and no dynamic section, so it needs no shared library at all.
func TestHeadlessBinaryIsStatic(t *testing.T) {
	bin := buildBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic"} {
		if f.Section(name) != nil {
			t.Errorf("section %s: the binary is dynamically linked", name)
		}
	}
	if _, err := exec.LookPath("ldd"); err == nil {
		out, _ := exec.Command("ldd", bin).CombinedOutput()
		if s := string(out); !strings.Contains(s, "not a dynamic executable") && !strings.Contains(s, "statically linked") {
			t.Errorf("ldd %s: %s", bin, s)
		}
	}
}

// The headless binary runs where the X and GL libraries are missing: in a
// private mount namespace every libGL*, libEGL*, libX11* and libxcb* file
// is covered by an empty one, and the binary runs with an empty
// environment. It needs root and unshare(1); elsewhere the static check
// above stands for it.
func TestHeadlessWithoutXAndGL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a mount namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare(1) is missing")
	}
	var libs []string
	for _, dir := range []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"} {
		for _, pat := range []string{"libGL*.so*", "libEGL*.so*", "libX11*.so*", "libxcb*.so*"} {
			for _, sub := range []string{"", "*"} {
				m, _ := filepath.Glob(filepath.Join(dir, sub, pat))
				libs = append(libs, m...)
			}
		}
	}
	t.Logf("hiding %d library files", len(libs))
	bin := buildBinary(t)
	home := t.TempDir()
	// Cover each library (exit 97 when mounts are not allowed here), check
	// it reads empty (99) and that a program linking libX11 no longer starts
	// (96), then run the binary with nothing but HOME in its
	// environment: `version` works, `status --offline` finds nothing cached
	// (exit 3) and says so in JSON.
	script := `for f in "$@"; do mount --bind /dev/null "$f" || exit 97; done
for f in "$@"; do if [ -s "$f" ]; then echo "still visible: $f" >&2; exit 99; fi; done
if [ -n "$ISCDESK_TEST_XAUTH" ] && "$ISCDESK_TEST_XAUTH" -V >/dev/null 2>&1; then exit 96; fi
env -i HOME="$ISCDESK_TEST_HOME" "$ISCDESK_TEST_BIN" version || exit 98
exec env -i HOME="$ISCDESK_TEST_HOME" "$ISCDESK_TEST_BIN" status --offline --json`
	cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh"}, libs...)...)
	cmd.Env = append(os.Environ(), "ISCDESK_TEST_BIN="+bin, "ISCDESK_TEST_HOME="+home)
	// xauth links libX11: where it is installed and starts here, it must
	// not start in the namespace (the control that the libraries are gone).
	if xauth, err := exec.LookPath("xauth"); err == nil && exec.Command(xauth, "-V").Run() == nil {
		cmd.Env = append(cmd.Env, "ISCDESK_TEST_XAUTH="+xauth)
	} else {
		t.Log("no xauth to check that libX11 is really hidden")
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code == 97 || strings.HasPrefix(errb.String(), "unshare:") {
		t.Skipf("no mount namespace here (exit %d): %s", code, errb.String())
	}
	if code != exitcode.NotUsable || !strings.HasPrefix(out.String(), "iscdesk ") || !strings.Contains(out.String(), `"reason"`) {
		t.Errorf("without X and GL libraries: %v (exit %d)\nstdout: %s\nstderr: %s", err, code, out.String(), errb.String())
	}
}
