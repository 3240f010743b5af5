//go:build linux

package deploytest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"debug/pe"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/version"
)

// TestDist runs deploy/dist.sh (what `make dist` runs) into a temporary
// folder and checks the three artifacts: the tar.gz holds the two programs
// (iscdesk static, iscdesk-desktop linking the GUI libraries) and is
// installed and uninstalled with its own scripts and the real binaries; the
// Windows installer and MSI are checked structurally (iscdesk.exe a console
// program, iscdesk-desktop.exe a GUI one), and the installer is run under
// wine with ISCDESK_WINE=1. Slow (four builds, two of them cgo, one a cross
// build): it runs only with ISCDESK_DIST=1.
func TestDist(t *testing.T) {
	if os.Getenv("ISCDESK_DIST") != "1" {
		t.Skip("set ISCDESK_DIST=1 to build and check the release archives")
	}
	needTools(t, "makensis", "wixl", "msiinfo")
	v := version.Version
	out := t.TempDir()
	cmd := buildCommand(t, "bash", filepath.Join(repoRoot(t), "deploy", "dist.sh"))
	cmd.Env = append(os.Environ(), "DIST_DIR="+out)
	start := time.Now()
	if code, b := run(t, cmd); code != 0 {
		t.Fatalf("dist.sh: exit %d\n%s", code, b)
	}
	t.Logf("dist.sh took %v", time.Since(start).Round(time.Second))

	tarball := filepath.Join(out, "iscdesk-"+v+"-linux-amd64.tar.gz")
	setup := filepath.Join(out, "iscdesk-"+v+"-windows-amd64-setup.exe")
	msi := filepath.Join(out, "iscdesk-"+v+"-windows-amd64.msi")
	for _, p := range []string{tarball, setup, msi} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.1f MiB", filepath.Base(p), float64(info.Size())/(1<<20))
	}
	checkSums(t, out, tarball, setup, msi)

	// The tar.gz: one top folder with the scripts, the binaries and the rest.
	unpacked := t.TempDir()
	top := checkArchive(t, tarball, unpacked, v)
	// iscdesk starts where no GUI library is installed; the window links
	// them.
	if dynamic := elfInterp(t, filepath.Join(unpacked, top, "iscdesk")); dynamic != "" {
		t.Errorf("iscdesk in the archive is dynamically linked (interpreter %s), want static", dynamic)
	}
	if dynamic := elfInterp(t, filepath.Join(unpacked, top, "iscdesk-desktop")); dynamic == "" {
		t.Error("iscdesk-desktop in the archive is static: built without cgo, it has no window")
	}

	// Install and uninstall with the archive's own scripts and real binary.
	e := newEnv(t, t.TempDir())
	e.src = filepath.Join(unpacked, top)
	before := snapshot(t, filepath.Join(e.base, "root"))
	e.mustInstall("--server", "https://license.example.com", "--server-key", testServerKey, "--grace-days", "10")
	got, err := exec.Command(e.bin(), "version").Output()
	if err != nil || strings.TrimSpace(string(got)) != "iscdesk "+v {
		t.Errorf("installed iscdesk version: %q, %v", got, err)
	}
	// The window needs a display; --help shows that it loads and links.
	if got, err := exec.Command(e.desktopBin(), "--help").Output(); err != nil || !strings.HasPrefix(string(got), "Usage: iscdesk-desktop") {
		t.Errorf("installed iscdesk-desktop --help: %q, %v", got, err)
	}
	code, outp := e.uninstall([]string{"ISCDESK_PURGE_HOMES=" + e.home}, "--purge")
	if code != 0 {
		t.Errorf("uninstall --purge with the real binary: exit %d\n%s\n%s", code, outp, readOr(e.uninstallLog()))
	}
	if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
		t.Errorf("after uninstall:\n%s", d)
	}

	b, err := os.ReadFile(setup)
	if err != nil {
		t.Fatal(err)
	}
	checkSetupExe(t, b, v)
	// A console program for the commands; the window without a console.
	extracted := checkMSI(t, msi, "", v)
	for name, want := range map[string]uint16{"iscdesk.exe": pe.IMAGE_SUBSYSTEM_WINDOWS_CUI, "iscdesk-desktop.exe": pe.IMAGE_SUBSYSTEM_WINDOWS_GUI} {
		if p, ok := extracted[name]; !ok {
			t.Errorf("no %s taken out of the MSI to check", name)
		} else if got := peSubsystem(t, p); got != want {
			t.Errorf("%s: PE subsystem %d, want %d", name, got, want)
		}
	}

	if os.Getenv("ISCDESK_WINE") == "1" {
		w := newWine(t)
		if code, out := w.run(3*time.Minute, setup, "/S", `/D=C:\iscdesk-dist`); code != 0 {
			t.Fatalf("setup /S: exit %d\n%s\n%s", code, out, w.tempLog("iscdesk-install.log"))
		}
		for _, name := range exeNames {
			exe, err := os.ReadFile(w.c(`C:\iscdesk-dist\` + name))
			if err != nil || len(exe) < 2 || string(exe[:2]) != "MZ" {
				t.Errorf("the installed %s: %v", name, err)
			}
		}
		checkShortcut(t, w.c(`C:\ProgramData\Microsoft\Windows\Start Menu\Programs\ISCDesk.lnk`), "iscdesk-desktop.exe")
		// Not run: see fakeExeC for why the real binaries fail under wine 8.
		if code, out := w.run(3*time.Minute, w.c(`C:\iscdesk-dist\uninstall.exe`), "/S", `_?=C:\iscdesk-dist`); code != 0 {
			t.Errorf("uninstall.exe /S: exit %d\n%s\n%s", code, out, w.tempLog("iscdesk-uninstall.log"))
		}
		for _, name := range exeNames {
			if w.exists(w.c(`C:\iscdesk-dist\` + name)) {
				t.Errorf("%s stays after uninstall", name)
			}
		}
	}
}

// TestMakeDist runs `make dist` as the README tells a new user to: from the
// repository's root, with DIST_DIR unset, so that the release lands in the
// relative folder dist/ (which once broke the MSI step: wixl runs in another
// folder). It runs in a copy of the repository, committed like a fresh
// clone, so that the working tree's own dist/ is left alone. Slow (it builds
// the release); it runs only with ISCDESK_DIST=1.
func TestMakeDist(t *testing.T) {
	if os.Getenv("ISCDESK_DIST") != "1" {
		t.Skip("set ISCDESK_DIST=1 to run make dist in a copy of the repository")
	}
	needTools(t, "make", "git", "makensis", "wixl", "msiinfo")
	root := repoRoot(t)
	ownDist := snapshot(t, filepath.Join(root, "dist"))
	clone := cloneTree(t, root)

	cmd := buildCommand(t, "make", "dist")
	cmd.Dir = clone
	// As typed in a shell: no DIST_DIR, and nothing inherited from a make
	// that runs this test.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "DIST_DIR" && name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	start := time.Now()
	if code, out := run(t, cmd); code != 0 {
		t.Fatalf("make dist: exit %d\n%s", code, out)
	}
	t.Logf("make dist took %v", time.Since(start).Round(time.Second))

	base := filepath.Join(clone, "dist", "iscdesk-"+version.Version)
	checkSums(t, filepath.Join(clone, "dist"), base+"-linux-amd64.tar.gz", base+"-windows-amd64-setup.exe", base+"-windows-amd64.msi")
	checkArchive(t, base+"-linux-amd64.tar.gz", t.TempDir(), version.Version)
	checkMSI(t, base+"-windows-amd64.msi", "", version.Version)
	if d := diffSnapshots(ownDist, snapshot(t, filepath.Join(root, "dist"))); d != "" {
		t.Errorf("the working tree's dist/ changed:\n%s", d)
	}
}

// buildCommand is a release build: it runs in a process group of its own,
// killed whole (the go build and compilers a script started too) when the
// test's time is nearly up, so that the test reports instead of panicking
// and leaves nothing running.
func buildCommand(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Minute))
		t.Cleanup(cancel)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// cloneTree copies the files of the repository at root that a commit would
// hold (tracked, or untracked and not ignored, as they are in the working
// tree) into a fresh folder, and commits them there: a clone of what is
// being tested.
func cloneTree(t *testing.T, root string) string {
	t.Helper()
	list, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		src := filepath.Join(root, filepath.FromSlash(name))
		info, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted, and not committed yet
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(link, target)
			}
			if err != nil {
				t.Fatal(err)
			}
		case info.Mode().IsRegular():
			copyFile(t, src, target, info.Mode().Perm())
		}
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=deploytest", "-c", "user.email=deploytest@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "copy"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dst
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dst
}

// checkSums checks a release folder: SHA256SUMS lists exactly the files
// given (paths in dir), each with its SHA-256, and no work folder is left.
func checkSums(t *testing.T, dir string, files ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || fileSum(t, filepath.Join(dir, f[1])) != f[0] {
			t.Errorf("SHA256SUMS line %q does not match", sc.Text())
			continue
		}
		listed[f[1]] = true
	}
	for _, p := range files {
		if !listed[filepath.Base(p)] {
			t.Errorf("SHA256SUMS does not list %s:\n%s", filepath.Base(p), b)
		}
	}
	if len(listed) != len(files) {
		t.Errorf("SHA256SUMS lists %d files, want %d:\n%s", len(listed), len(files), b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".dist.*")); len(leftovers) != 0 {
		t.Errorf("work folders left in %s: %v", dir, leftovers)
	}
}

// checkArchive unpacks the Linux release tarball into dir and checks that
// it holds exactly one top folder, iscdesk-<version>/, with the two programs,
// the scripts and the rest, each with its mode. It returns the top folder's
// name (with a slash).
func checkArchive(t *testing.T, tarball, dir, version string) string {
	t.Helper()
	modes := untar(t, tarball, dir)
	top := "iscdesk-" + version + "/"
	for name, mode := range map[string]os.FileMode{
		"iscdesk": 0o755, "iscdesk-desktop": 0o755, "install.sh": 0o755, "uninstall.sh": 0o755,
		"iscdesk.png": 0o644, "iscdesk.desktop": 0o644, "README.txt": 0o644, "VERSION": 0o644,
	} {
		got, ok := modes[top+name]
		if !ok {
			t.Errorf("the archive lacks %s%s", top, name)
		} else if got != mode {
			t.Errorf("%s%s: mode %v, want %v", top, name, got, mode)
		}
	}
	for name := range modes {
		if !strings.HasPrefix(name, top) {
			t.Errorf("%s is outside %s", name, top)
		}
	}
	return top
}

// elfInterp is the program interpreter (PT_INTERP) of the ELF file at path,
// "" for a static executable.
func elfInterp(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s is not an ELF file: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}

// peSubsystem is the subsystem (console or GUI) in a 64-bit PE file's
// optional header.
func peSubsystem(t *testing.T, path string) uint16 {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("%s is not a PE file: %v", path, err)
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("%s is not a 64-bit PE file", path)
	}
	return oh.Subsystem
}

// untar unpacks a .tar.gz into dir and returns each entry's permissions.
func untar(t *testing.T, path, dir string) map[string]os.FileMode {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	modes := map[string]os.FileMode{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		if !filepath.IsLocal(h.Name) {
			t.Fatalf("unsafe name in the archive: %s", h.Name)
		}
		target := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			modes[h.Name] = os.FileMode(h.Mode).Perm()
			w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
		default:
			t.Errorf("unexpected entry type %c: %s", h.Typeflag, h.Name)
		}
	}
	return modes
}

// TestDistNeedsMinGW: without the MinGW cross-compiler the Windows window
// cannot be built (a build without cgo has no window), so dist.sh stops
// before building anything, says why, and leaves DIST_DIR without a release
// or a work folder. Fast: the check comes first.
func TestDistNeedsMinGW(t *testing.T) {
	needTools(t, "makensis", "wixl")
	// PATH as it is, but without the MinGW tools: each folder's programs
	// linked into one folder, those left out.
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "x86_64-w64-mingw32-") {
				continue
			}
			_ = os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name())) // the first on PATH wins
		}
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "deploy", "dist.sh"))
	cmd.Env = append(os.Environ(), "DIST_DIR="+out, "PATH="+bin)
	code, b := run(t, cmd)
	if code != 1 || !strings.Contains(b, "x86_64-w64-mingw32-gcc is missing") || strings.Contains(b, "dist: building") {
		t.Errorf("dist.sh without MinGW: exit %d, want 1 with the reason before any build\n%s", code, b)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("DIST_DIR holds %v", left)
	}
}
