//go:build linux

package deploytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testServerKey is a vendor public key as the installers' --server-key
// takes it: the standard base64 of 32 bytes.
const testServerKey = "aXNjZGVzayBkZXBsb3kgdGVzdCB2ZW5kb3Iga2V5ISE="

// repoRoot is the module root: tests run in their package folder.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "deploy", "linux", "install.sh")); err != nil {
		t.Fatalf("not the repository root: %v", err)
	}
	return root
}

// fakeBinary is a stand-in for one of the client's two programs (name is
// iscdesk or iscdesk-desktop): a shell script that prints its name and
// version and, when ISCDESK_FAKE_LOG is set, records its name and arguments
// there (uninstall --purge runs "iscdesk forget"). The padding makes it a
// few MB, like the real binary, so that copies take long enough for a torn
// write to be seen; it differs per program and version so that checksums
// tell them apart.
func fakeBinary(name, version string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#!/bin/sh\n# fake %s %s\n", name, version)
	fmt.Fprintf(&b, "if [ -n \"${ISCDESK_FAKE_LOG:-}\" ]; then echo \"%s $*\" >>\"$ISCDESK_FAKE_LOG\"; fi\n", name)
	fmt.Fprintf(&b, "echo \"%s %s\"\nexit 0\n", name, version)
	line := "# " + strings.Repeat(name+" "+version+" padding ", 12) + "\n"
	for b.Len() < 4<<20 {
		b.WriteString(line)
	}
	return b.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// sums are the checksums of a release's two programs.
type sums struct{ cli, desktop string }

// release lays out an unpacked release archive in dir, as deploy/dist.sh
// does, with the fake binaries of version.
func release(t testing.TB, dir, version string) sums {
	t.Helper()
	root := repoRoot(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "deploy", "linux", "install.sh"), filepath.Join(dir, "install.sh"), 0o755)
	copyFile(t, filepath.Join(root, "deploy", "linux", "uninstall.sh"), filepath.Join(dir, "uninstall.sh"), 0o755)
	copyFile(t, filepath.Join(root, "deploy", "linux", "iscdesk.desktop"), filepath.Join(dir, "iscdesk.desktop"), 0o644)
	copyFile(t, filepath.Join(root, "assets", "icon.png"), filepath.Join(dir, "iscdesk.png"), 0o644)
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli, desktop := fakeBinary("iscdesk", version), fakeBinary("iscdesk-desktop", version)
	if err := os.WriteFile(filepath.Join(dir, "iscdesk"), cli, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "iscdesk-desktop"), desktop, 0o755); err != nil {
		t.Fatal(err)
	}
	return sums{cli: sum(cli), desktop: sum(desktop)}
}

// env is one test's world: a release folder, a prefix, a config folder and
// a log folder, all below one temporary folder.
type env struct {
	t       testing.TB
	base    string // everything lives below
	src     string // the unpacked release
	prefix  string
	confDir string
	logs    string
	home    string
	fakeLog string // where the fake binary records its calls
	cred    *syscall.Credential
}

func newEnv(t testing.TB, base string) *env {
	t.Helper()
	e := &env{
		t:       t,
		base:    base,
		src:     filepath.Join(base, "release"),
		prefix:  filepath.Join(base, "root", "opt", "isc"),
		confDir: filepath.Join(base, "root", "etc", "iscdesk"),
		logs:    filepath.Join(base, "logs"),
		home:    filepath.Join(base, "home"),
		fakeLog: filepath.Join(base, "logs", "fake-iscdesk.log"),
	}
	for _, d := range []string{e.logs, e.home, filepath.Join(base, "root")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) bin() string { return filepath.Join(e.prefix, "bin", "iscdesk") }
func (e *env) desktopBin() string {
	return filepath.Join(e.prefix, "bin", "iscdesk-desktop")
}
func (e *env) dataDir() string  { return filepath.Join(e.prefix, "share", "iscdesk") }
func (e *env) manifest() string { return filepath.Join(e.dataDir(), "installed-files") }
func (e *env) desktop() string {
	return filepath.Join(e.prefix, "share", "applications", "iscdesk.desktop")
}
func (e *env) icon() string {
	return filepath.Join(e.prefix, "share", "icons", "hicolor", "512x512", "apps", "iscdesk.png")
}
func (e *env) config() string       { return filepath.Join(e.confDir, "config.json") }
func (e *env) installLog() string   { return filepath.Join(e.logs, "install.log") }
func (e *env) uninstallLog() string { return filepath.Join(e.logs, "uninstall.log") }

// command prepares `sh SCRIPT ARGS...` with a clean, private environment:
// HOME and the XDG folders point into the test's folder so that nothing of
// the machine's user is touched, and no D-Bus session is inherited.
func (e *env) command(script string, args ...string) *exec.Cmd {
	cmd := exec.Command("sh", append([]string{script}, args...)...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.home,
		"XDG_STATE_HOME=" + filepath.Join(e.home, ".local", "state"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"ISCDESK_FAKE_LOG=" + e.fakeLog,
		"LC_ALL=C",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: e.cred}
	return cmd
}

// install runs install.sh from the release folder with the env's prefix,
// config folder and log, plus args; it returns the exit status and output.
func (e *env) install(extraEnv []string, args ...string) (int, string) {
	e.t.Helper()
	cmd := e.command(filepath.Join(e.src, "install.sh"), append([]string{"--silent",
		"--prefix", e.prefix, "--config-dir", e.confDir, "--log", e.installLog()}, args...)...)
	cmd.Env = append(cmd.Env, extraEnv...)
	return run(e.t, cmd)
}

// uninstall runs the uninstall.sh the install left in the prefix when it is
// there, else the release's.
func (e *env) uninstall(extraEnv []string, args ...string) (int, string) {
	e.t.Helper()
	script := filepath.Join(e.dataDir(), "uninstall.sh")
	if _, err := os.Stat(script); err != nil {
		script = filepath.Join(e.src, "uninstall.sh")
	}
	cmd := e.command(script, append([]string{"--silent", "--prefix", e.prefix, "--log", e.uninstallLog()}, args...)...)
	cmd.Env = append(cmd.Env, extraEnv...)
	return run(e.t, cmd)
}

// run runs cmd and returns its exit status and output. The output goes to a
// file, not a pipe: a daemon the command leaves behind (a wineserver, a
// D-Bus daemon started on demand) would hold a pipe open and make Wait
// block until it ends.
func run(t testing.TB, cmd *exec.Cmd) (int, string) {
	t.Helper()
	f, err := os.CreateTemp("", "iscdesk-deploytest-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		return -1, ""
	}
}

func (e *env) mustInstall(args ...string) {
	e.t.Helper()
	if code, out := e.install(nil, args...); code != 0 {
		e.t.Fatalf("install.sh %v: exit %d\n%s\nlog:\n%s", args, code, out, readOr(e.installLog()))
	}
}

func (e *env) mustUninstall(args ...string) {
	e.t.Helper()
	if code, out := e.uninstall(nil, args...); code != 0 {
		e.t.Fatalf("uninstall.sh %v: exit %d\n%s\nlog:\n%s", args, code, out, readOr(e.uninstallLog()))
	}
}

func readOr(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// fileSum is the checksum of path, "" when it does not exist.
func fileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// snapshot describes every entry below root (type, mode, owner, content
// checksum) so that two states of a tree can be compared.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return filepath.SkipAll
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v uid=%d", info.Mode(), st.Uid)
		if info.Mode().IsRegular() {
			desc += " " + fileSum(t, p)
		}
		m[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(before, after map[string]string) string {
	var lines []string
	for p, d := range before {
		if a, ok := after[p]; !ok {
			lines = append(lines, "gone:    "+p+" ("+d+")")
		} else if a != d {
			lines = append(lines, "changed: "+p+" ("+d+" -> "+a+")")
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			lines = append(lines, "new:     "+p+" ("+a+")")
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// manifestLines returns the manifest's entries of one kind ("dir", "file",
// "config").
func manifestLines(t testing.TB, path, kind string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, kind+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitFile waits for path to appear while cmd runs; it fails when cmd ends
// first or time runs out.
func waitFile(t testing.TB, path string, done <-chan error, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the script ended (%v) before reaching %s", err, path)
		case <-deadline:
			t.Fatalf("timed out waiting for %s", path)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
