//go:build linux

package deploytest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func readConfig(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", path, err, b)
	}
	return m
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func TestInstallFresh(t *testing.T) {
	e := newEnv(t, t.TempDir())
	rel := release(t, e.src, "1.0.0")
	e.mustInstall("--server", "https://license.example.com/api?x=1&y=2", "--server-key", testServerKey,
		"--proxy", "http://user:secret@proxy.example:3128", "--grace-days", "014")

	if got := fileSum(t, e.bin()); got != rel.cli {
		t.Errorf("installed iscdesk differs from the release's")
	}
	if got := fileSum(t, e.desktopBin()); got != rel.desktop {
		t.Errorf("installed iscdesk-desktop differs from the release's")
	}
	checkMode(t, e.bin(), 0o755)
	checkMode(t, e.desktopBin(), 0o755)
	checkMode(t, e.desktop(), 0o644)
	checkMode(t, e.icon(), 0o644)
	checkMode(t, e.config(), 0o644)
	checkMode(t, filepath.Join(e.dataDir(), "uninstall.sh"), 0o755)
	if fileSum(t, e.icon()) != fileSum(t, filepath.Join(e.src, "iscdesk.png")) {
		t.Error("icon differs from the release's")
	}

	cfg := readConfig(t, e.config())
	want := map[string]any{"server": "https://license.example.com/api?x=1&y=2", "server_key": testServerKey,
		"proxy": "http://user:secret@proxy.example:3128", "grace_days": float64(14)}
	if fmt.Sprint(cfg) != fmt.Sprint(want) {
		t.Errorf("config.json = %v, want %v", cfg, want)
	}

	desktop, _ := os.ReadFile(e.desktop())
	// The entry starts the window directly.
	for _, line := range []string{"Exec=\"" + e.desktopBin() + "\"", "TryExec=" + e.desktopBin(), "Icon=" + e.icon(), "Type=Application", "X-ISCDesk-Version=1.0.0"} {
		if !strings.Contains(string(desktop), line+"\n") {
			t.Errorf("desktop entry lacks %q:\n%s", line, desktop)
		}
	}
	if strings.Contains(string(desktop), "@") {
		t.Errorf("desktop entry has an unreplaced placeholder:\n%s", desktop)
	}

	files := manifestLines(t, e.manifest(), "file")
	for _, f := range []string{e.bin(), e.desktopBin(), e.desktop(), e.icon(), filepath.Join(e.dataDir(), "uninstall.sh")} {
		if !contains(files, f) {
			t.Errorf("manifest lacks file %s: %v", f, files)
		}
	}
	if got := manifestLines(t, e.manifest(), "config"); len(got) != 1 || got[0] != e.config() {
		t.Errorf("manifest config lines = %v", got)
	}
	// The install created the prefix and the config folder: both listed,
	// outermost first.
	dirs := manifestLines(t, e.manifest(), "dir")
	if len(dirs) == 0 || dirs[0] != filepath.Join(e.base, "root", "opt") {
		t.Errorf("manifest dirs = %v, want the prefix's missing parents first", dirs)
	}
	if !contains(dirs, e.confDir) {
		t.Errorf("manifest dirs lack %s: %v", e.confDir, dirs)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir(), "staging")); !os.IsNotExist(err) {
		t.Errorf("the staging folder is still there: %v", err)
	}

	log := readOr(e.installLog())
	if !strings.Contains(log, "install complete: iscdesk 1.0.0") {
		t.Errorf("log lacks the completion line:\n%s", log)
	}
	if strings.Contains(log, "secret") {
		t.Errorf("the log shows the proxy password:\n%s", log)
	}
	for path, want := range map[string]string{e.bin(): "iscdesk 1.0.0", e.desktopBin(): "iscdesk-desktop 1.0.0"} {
		out, err := exec.Command(path).Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("installed %s: %q, %v", filepath.Base(path), out, err)
		}
	}
}

func TestInstallNoSettingsNoShortcuts(t *testing.T) {
	e := newEnv(t, t.TempDir())
	release(t, e.src, "1.0.0")
	e.mustInstall("--no-shortcuts")
	for _, p := range []string{e.desktop(), e.icon(), e.config(), e.confDir, filepath.Join(e.prefix, "share", "applications")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: want absent, got %v", p, err)
		}
	}
	// Without shortcuts the window is still installed: iscdesk opens it.
	if _, err := os.Stat(e.desktopBin()); err != nil {
		t.Error(err)
	}
	if got := manifestLines(t, e.manifest(), "config"); len(got) != 0 {
		t.Errorf("manifest lists a config: %v", got)
	}
}

func TestInstallUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--grace-days", "366"},
		{"--grace-days", "7d"},
		{"--grace-days", "1000"},
		{"--grace-days", ""},
		{"--server", "ftp://license.example.com"},
		{"--server", "https://"},
		{"--server", `https://a"b.example`},
		{"--server", "http://license.example.com"},
		{"--server-key", "not-a-key"},
		{"--server-key", testServerKey + "A"},
		{"--server-key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==="},
		{"--server-key", `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"=`},
		{"--endpoint", "https://mkt.example.com"},
		{"--proxy", "http://a b"},
		{"--prefix", "relative/dir"},
		{"--prefix", "/tmp/has$dollar"},
		{"--config-dir"},
		{"--silent=yes"},
		{"--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := newEnv(t, t.TempDir())
			release(t, e.src, "1.0.0")
			before := snapshot(t, filepath.Join(e.base, "root"))
			code, out := e.install(nil, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s", code, out)
			}
			if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
				t.Errorf("a refused install changed files:\n%s", d)
			}
			if log := readOr(e.installLog()); !strings.Contains(log, "usage error") {
				t.Errorf("log lacks the usage error:\n%s", log)
			}
		})
	}
}

// watchBinary reads the live binary over and over until stop is closed and
// counts reads whose checksum is none of the allowed ones: a torn write.
func watchBinary(t *testing.T, path string, allowed map[string]bool, stop <-chan struct{}) (reads, torn *int64, wg *sync.WaitGroup) {
	reads, torn = new(int64), new(int64)
	wg = new(sync.WaitGroup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				continue // absent: allowed (before the first install)
			}
			atomic.AddInt64(reads, 1)
			if !allowed[sum(b)] {
				atomic.AddInt64(torn, 1)
			}
		}
	}()
	return reads, torn, wg
}

func TestInstallOverwrite(t *testing.T) {
	e := newEnv(t, t.TempDir())
	before := snapshot(t, filepath.Join(e.base, "root"))
	v1 := release(t, e.src, "1.0.0")
	e.mustInstall("--server", "https://one.example")

	// v2 over v1, no settings: the configuration stays; shortcuts go.
	v2 := release(t, e.src, "2.0.0")
	stop := make(chan struct{})
	reads, torn, wg := watchBinary(t, e.bin(), map[string]bool{v1.cli: true, v2.cli: true}, stop)
	dReads, dTorn, dWG := watchBinary(t, e.desktopBin(), map[string]bool{v1.desktop: true, v2.desktop: true}, stop)
	e.mustInstall("--no-shortcuts")
	close(stop)
	wg.Wait()
	dWG.Wait()
	if *torn != 0 || *dTorn != 0 {
		t.Errorf("reads of the live binaries during the upgrade that saw neither version: iscdesk %d of %d, iscdesk-desktop %d of %d",
			*torn, *reads, *dTorn, *dReads)
	}
	t.Logf("live binaries read %d and %d times during the upgrade", *reads, *dReads)
	if fileSum(t, e.bin()) != v2.cli || fileSum(t, e.desktopBin()) != v2.desktop {
		t.Error("the binaries are not version 2")
	}
	if cfg := readConfig(t, e.config()); cfg["server"] != "https://one.example" {
		t.Errorf("config after an upgrade without settings: %v", cfg)
	}
	for _, p := range []string{e.desktop(), e.icon()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: the shortcut of the earlier install is still there (%v)", p, err)
		}
	}
	files := manifestLines(t, e.manifest(), "file")
	if contains(files, e.desktop()) || !contains(files, e.bin()) || !contains(files, e.desktopBin()) {
		t.Errorf("manifest files after the upgrade: %v", files)
	}
	if !strings.Contains(readOr(e.manifest()), "version 2.0.0") {
		t.Errorf("manifest:\n%s", readOr(e.manifest()))
	}

	// v3 with only a proxy: the file holds exactly that.
	release(t, e.src, "3.0.0")
	e.mustInstall("--proxy", "http://proxy.example:8080")
	if cfg := readConfig(t, e.config()); len(cfg) != 1 || cfg["proxy"] != "http://proxy.example:8080" {
		t.Errorf("config = %v, want only the proxy", cfg)
	}
	// Same version again: idempotent.
	e.mustInstall("--proxy", "http://proxy.example:8080")

	// The folders the first install created for shortcuts are still known:
	// uninstall leaves the tree as it was before any install.
	e.mustUninstall()
	if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
		t.Errorf("after uninstall:\n%s", d)
	}
}

// installSteps are the pause points of install.sh (ISCDESK_INSTALL_PAUSE_AT).
var installSteps = []string{"begin", "planned", "staged", "config", "binary-temp", "desktop-temp", "binary", "shortcuts", "cleanup", "finished"}

// TestInstallKilled kills install.sh with SIGKILL at every step, for a fresh
// install and for an upgrade, checks that neither live binary is ever a mix,
// then checks that running the install again completes it and that an
// uninstall (after the re-run, or straight after the kill) leaves the tree
// as it was.
func TestInstallKilled(t *testing.T) {
	for _, scenario := range []string{"fresh", "upgrade", "fresh-then-uninstall"} {
		for _, step := range installSteps {
			t.Run(scenario+"/"+step, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, t.TempDir())
				before := snapshot(t, filepath.Join(e.base, "root"))
				// The versions each live binary may be.
				allowed := map[string]map[string]bool{e.bin(): {}, e.desktopBin(): {}}
				if scenario == "upgrade" {
					v1 := release(t, e.src, "1.0.0")
					allowed[e.bin()][v1.cli], allowed[e.desktopBin()][v1.desktop] = true, true
					e.mustInstall("--server", "https://one.example")
				}
				v2 := release(t, e.src, "2.0.0")
				allowed[e.bin()][v2.cli], allowed[e.desktopBin()][v2.desktop] = true, true

				pauseFile := filepath.Join(e.base, "paused")
				cmd := e.command(filepath.Join(e.src, "install.sh"), "--silent", "--prefix", e.prefix,
					"--config-dir", e.confDir, "--log", e.installLog(), "--server", "https://two.example")
				cmd.Env = append(cmd.Env, "ISCDESK_INSTALL_PAUSE_AT="+step, "ISCDESK_INSTALL_PAUSE_FILE="+pauseFile)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				waitFile(t, pauseFile, done, 30*time.Second)

				if step == "staged" {
					// Stand in for a kill in the middle of the copy into the
					// staging folder: the staged binaries are half there.
					for _, name := range []string{"iscdesk", "iscdesk-desktop"} {
						if err := os.Truncate(filepath.Join(e.dataDir(), "staging", name), 1<<20); err != nil {
							t.Fatal(err)
						}
					}
				}
				check := func(when string) {
					for bin, ok := range allowed {
						s := fileSum(t, bin)
						if s != "" && !ok[s] {
							t.Errorf("%s: the live %s is neither the old nor the new version", when, filepath.Base(bin))
						}
						if scenario == "upgrade" && s == "" {
							t.Errorf("%s: the live %s of the earlier install is gone", when, filepath.Base(bin))
						}
					}
				}
				check("paused")
				// The whole process group: the script and its sleep.
				if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				<-done
				check("killed")

				if scenario == "fresh-then-uninstall" {
					e.mustUninstall()
					if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
						t.Fatalf("uninstall after a kill at %s left:\n%s\nlog:\n%s", step, d, readOr(e.uninstallLog()))
					}
					return
				}

				e.mustInstall("--server", "https://two.example")
				if fileSum(t, e.bin()) != v2.cli || fileSum(t, e.desktopBin()) != v2.desktop {
					t.Error("after the re-run the binaries are not the new version")
				}
				for _, p := range []string{e.desktop(), e.icon(), e.config(), filepath.Join(e.dataDir(), "uninstall.sh")} {
					if _, err := os.Stat(p); err != nil {
						t.Errorf("after the re-run: %v", err)
					}
				}
				if cfg := readConfig(t, e.config()); cfg["server"] != "https://two.example" {
					t.Errorf("config after the re-run: %v", cfg)
				}
				leftovers, _ := filepath.Glob(filepath.Join(e.prefix, "*", ".*.iscdesk-new"))
				more, _ := filepath.Glob(filepath.Join(e.prefix, "share", "*", ".*.iscdesk-new"))
				if leftovers = append(leftovers, more...); len(leftovers) != 0 {
					t.Errorf("temporary files left: %v", leftovers)
				}
				if _, err := os.Stat(filepath.Join(e.dataDir(), "staging")); !os.IsNotExist(err) {
					t.Errorf("staging folder left: %v", err)
				}
				for path, want := range map[string]string{e.bin(): "iscdesk 2.0.0", e.desktopBin(): "iscdesk-desktop 2.0.0"} {
					if out, err := exec.Command(path).Output(); err != nil || strings.TrimSpace(string(out)) != want {
						t.Errorf("installed %s: %q, %v", filepath.Base(path), out, err)
					}
				}

				e.mustUninstall()
				if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
					t.Errorf("after uninstall:\n%s", d)
				}
			})
		}
	}
}

func TestUninstallLeavesNothing(t *testing.T) {
	e := newEnv(t, t.TempDir())
	// A prefix that already holds other software, and an existing (empty)
	// folder the install also uses: both must stay exactly as they were.
	for _, d := range []string{filepath.Join(e.prefix, "bin"), filepath.Join(e.prefix, "share", "applications"), filepath.Join(e.prefix, "share", "icons")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.prefix, "bin", "other-tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.prefix, "share", "applications", "other.desktop"), []byte("[Desktop Entry]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two users with cached authorizations in the encrypted-file fallback
	// and their own settings, which --purge must keep.
	var homes []string
	for _, u := range []string{"alice", "bob"} {
		h := filepath.Join(e.base, "homes", u)
		d := filepath.Join(h, ".config", "iscdesk")
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"authorization.sealed", "install.secret"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		homes = append(homes, h)
	}
	if err := os.WriteFile(filepath.Join(homes[1], ".config", "iscdesk", "config.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	before := snapshot(t, filepath.Join(e.base, "root"))
	release(t, e.src, "1.0.0")
	e.mustInstall("--server", "https://one.example", "--grace-days", "3")
	code, out := e.uninstall([]string{"ISCDESK_PURGE_HOMES=" + strings.Join(homes, "\n")}, "--purge")
	if code != 0 {
		t.Fatalf("uninstall --purge: exit %d\n%s\n%s", code, out, readOr(e.uninstallLog()))
	}
	if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
		t.Errorf("the tree differs from before the install:\n%s", d)
	}
	if got := strings.TrimSpace(readOr(e.fakeLog)); got != "iscdesk forget" {
		t.Errorf("the binaries were run as %q, want \"iscdesk forget\"", got)
	}
	if _, err := os.Stat(filepath.Join(homes[0], ".config", "iscdesk")); !os.IsNotExist(err) {
		t.Errorf("alice's emptied iscdesk folder stays: %v", err)
	}
	left, _ := os.ReadDir(filepath.Join(homes[1], ".config", "iscdesk"))
	if len(left) != 1 || left[0].Name() != "config.json" {
		t.Errorf("bob's iscdesk folder holds %v, want only his config.json", left)
	}
	if log := readOr(e.uninstallLog()); !strings.Contains(log, "uninstall complete") {
		t.Errorf("log:\n%s", log)
	}
	// Again, with nothing installed: nothing to do, success.
	if code, out := e.uninstall(nil); code != 0 {
		t.Errorf("second uninstall: exit %d\n%s", code, out)
	}
	if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
		t.Errorf("the second uninstall changed the tree:\n%s", d)
	}
}

// TestUninstallWithoutManifest: an install interrupted before its manifest
// (or a manifest deleted by hand) still uninstalls the known files.
func TestUninstallWithoutManifest(t *testing.T) {
	e := newEnv(t, t.TempDir())
	release(t, e.src, "1.0.0")
	e.mustInstall()
	if err := os.Remove(e.manifest()); err != nil {
		t.Fatal(err)
	}
	e.mustUninstall()
	for _, p := range []string{e.bin(), e.desktopBin(), e.desktop(), e.icon(), e.dataDir()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s stays: %v", p, err)
		}
	}
}

// TestUninstallUndeletable makes one installed file undeletable, checks that
// the uninstall removes everything else, exits non-zero, says which file in
// its log and keeps a manifest of what is left; once the file can be deleted
// again, a second uninstall finishes the job. Root ignores permissions, so
// the test picks what works here: the immutable attribute (chattr +i, needs
// CAP_LINUX_IMMUTABLE), or running the uninstall as "nobody" over a prefix
// where one folder belongs to root; not as root, a read-only folder.
func TestUninstallUndeletable(t *testing.T) {
	type lock struct {
		name    string
		usable  func(t *testing.T, e *env) string // "" or why not
		prepare func(t *testing.T, e *env)        // after the install
		lock    func(t *testing.T, e *env, path string)
		unlock  func(t *testing.T, e *env, path string)
	}
	isRoot := os.Geteuid() == 0
	locks := []lock{{
		name: "immutable",
		usable: func(t *testing.T, e *env) string {
			if !isRoot {
				return "needs root"
			}
			if _, err := exec.LookPath("chattr"); err != nil {
				return "no chattr"
			}
			probe := filepath.Join(e.base, "probe")
			if err := os.WriteFile(probe, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("chattr", "+i", probe).CombinedOutput(); err != nil {
				return "chattr +i does not work here: " + strings.TrimSpace(string(out))
			}
			_ = exec.Command("chattr", "-i", probe).Run()
			return ""
		},
		lock: func(t *testing.T, e *env, path string) {
			if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
				t.Fatalf("chattr +i: %v %s", err, out)
			}
			// Before the temporary folder is removed, whatever happens.
			t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
		},
		unlock: func(t *testing.T, e *env, path string) {
			if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
				t.Fatalf("chattr -i: %v %s", err, out)
			}
		},
	}, {
		name: "unprivileged",
		usable: func(t *testing.T, e *env) string {
			if !isRoot {
				return "needs root"
			}
			if _, err := user.Lookup("nobody"); err != nil {
				return "no user nobody"
			}
			return ""
		},
		prepare: func(t *testing.T, e *env) {
			u, _ := user.Lookup("nobody")
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			// Everything the uninstall touches belongs to nobody, including
			// the parents of the folders it removes.
			for _, top := range []string{filepath.Join(e.base, "root"), e.logs, e.home} {
				err := filepath.Walk(top, func(p string, _ os.FileInfo, err error) error {
					if err != nil {
						return err
					}
					return os.Lchown(p, uid, gid)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		},
		lock: func(t *testing.T, e *env, path string) {
			if err := os.Chown(filepath.Dir(path), 0, 0); err != nil {
				t.Fatal(err)
			}
		},
		unlock: func(t *testing.T, e *env, path string) {
			if err := os.Chown(filepath.Dir(path), int(e.cred.Uid), int(e.cred.Gid)); err != nil {
				t.Fatal(err)
			}
		},
	}, {
		name: "read-only-folder",
		usable: func(t *testing.T, e *env) string {
			if isRoot {
				return "root ignores folder permissions"
			}
			return ""
		},
		lock: func(t *testing.T, e *env, path string) {
			if err := os.Chmod(filepath.Dir(path), 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(filepath.Dir(path), 0o755) })
		},
		unlock: func(t *testing.T, e *env, path string) {
			if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
		},
	}}

	used := 0
	for _, l := range locks {
		t.Run(l.name, func(t *testing.T) {
			// The unprivileged run needs a folder "nobody" can reach:
			// t.TempDir's parent is private to root.
			base, err := os.MkdirTemp("", "iscdesk-undeletable-")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(base, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(base) })
			e := newEnv(t, base)
			if why := l.usable(t, e); why != "" {
				t.Skip(why)
			}
			used++
			before := snapshot(t, filepath.Join(e.base, "root"))
			release(t, e.src, "1.0.0")
			e.mustInstall("--server", "https://one.example")
			if l.prepare != nil {
				l.prepare(t, e)
			}
			stuck := e.desktop()
			l.lock(t, e, stuck)

			code, out := e.uninstall(nil)
			if code == 0 {
				t.Fatalf("uninstall succeeded although %s could not be removed\n%s", stuck, out)
			}
			log := readOr(e.uninstallLog())
			if !strings.Contains(log, "FAILED: cannot remove "+stuck) {
				t.Errorf("the log does not name %s:\n%s", stuck, log)
			}
			if !strings.Contains(log, "1 failed step") {
				t.Errorf("the log lacks the summary:\n%s", log)
			}
			if _, err := os.Stat(stuck); err != nil {
				t.Errorf("the locked file: %v", err)
			}
			for _, p := range []string{e.bin(), e.desktopBin(), e.icon(), e.config(), filepath.Join(e.dataDir(), "uninstall.sh"), e.confDir} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s was not removed past the failure: %v", p, err)
				}
			}
			if files := manifestLines(t, e.manifest(), "file"); len(files) != 1 || files[0] != stuck {
				t.Errorf("the manifest should list only what is left, got %v", files)
			}

			l.unlock(t, e, stuck)
			if code, out := e.uninstall(nil); code != 0 {
				t.Fatalf("second uninstall: exit %d\n%s\n%s", code, out, readOr(e.uninstallLog()))
			}
			after := snapshot(t, filepath.Join(e.base, "root"))
			if l.name == "unprivileged" {
				// Only the owner of the (kept) root folder changed, by the test.
				delete(before, ".")
				delete(after, ".")
			}
			if d := diffSnapshots(before, after); d != "" {
				t.Errorf("after the second uninstall:\n%s", d)
			}
		})
	}
	if used == 0 {
		t.Error("no way to make a file undeletable worked here")
	}
}

// TestShellcheck lints the shell scripts when shellcheck is installed.
func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed")
	}
	root := repoRoot(t)
	cmd := exec.Command("shellcheck", "-s", "sh", "deploy/linux/install.sh", "deploy/linux/uninstall.sh")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
	cmd = exec.Command("shellcheck", "deploy/dist.sh")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestScriptsArePOSIX runs the scripts' syntax check under dash, the
// strictest /bin/sh at hand, when it is installed.
func TestScriptsArePOSIX(t *testing.T) {
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Skip("dash is not installed")
	}
	for _, s := range []string{"install.sh", "uninstall.sh"} {
		if out, err := exec.Command(dash, "-n", filepath.Join(repoRoot(t), "deploy", "linux", s)).CombinedOutput(); err != nil {
			t.Errorf("dash -n %s: %v\n%s", s, err, out)
		}
	}
}

// TestInstallPreflightRefusal: a prefix the user cannot write to is refused
// before anything is touched, with exit status 1 and the reason in the log.
func TestInstallPreflightRefusal(t *testing.T) {
	base, err := os.MkdirTemp("", "iscdesk-preflight-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, base)
	release(t, e.src, "1.0.0")
	if os.Geteuid() == 0 {
		// Root may write anywhere: run as nobody, who may write its logs only.
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{e.logs, e.home} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		e.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	} else {
		if err := os.Chmod(filepath.Join(base, "root"), 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(filepath.Join(base, "root"), 0o755) })
	}
	before := snapshot(t, filepath.Join(e.base, "root"))
	code, out := e.install(nil)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, out)
	}
	if log := readOr(e.installLog()); !strings.Contains(log, "FAILED at step preflight: cannot write to") {
		t.Errorf("log:\n%s", log)
	}
	if d := diffSnapshots(before, snapshot(t, filepath.Join(e.base, "root"))); d != "" {
		t.Errorf("a refused install changed files:\n%s", d)
	}
}

// TestInstallMissingLibraries: a window binary whose shared libraries are
// missing draws a warning naming it, not a refusal (a headless server needs
// no window); the command-line binary is not checked, it links none.
func TestInstallMissingLibraries(t *testing.T) {
	needTools(t, "gcc", "ldd")
	e := newEnv(t, t.TempDir())
	release(t, e.src, "1.0.0")
	// A program linked against a library that is then deleted.
	build := t.TempDir()
	lib, prog := filepath.Join(build, "libiscdeskgone.so"), filepath.Join(build, "needs-lib")
	if err := os.WriteFile(filepath.Join(build, "lib.c"), []byte("int iscdesk_gone(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(build, "main.c"), []byte("int iscdesk_gone(void);\nint main(void) { return iscdesk_gone(); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", lib, filepath.Join(build, "lib.c")},
		{"-o", prog, filepath.Join(build, "main.c"), "-L" + build, "-liscdeskgone"},
	} {
		if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}

	// The CLI with missing libraries: not looked at.
	copyFile(t, prog, filepath.Join(e.src, "iscdesk"), 0o755)
	code, out := e.install(nil)
	if code != 0 || strings.Contains(out, "warning") {
		t.Errorf("install with a CLI that lacks libraries: exit %d, output %q", code, out)
	}

	// The window with missing libraries: a warning that names it and the
	// library; the install still completes.
	release(t, e.src, "1.0.0")
	copyFile(t, prog, filepath.Join(e.src, "iscdesk-desktop"), 0o755)
	code, out = e.install(nil)
	if code != 0 {
		t.Fatalf("install: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "warning: the desktop window (iscdesk-desktop) will not start: missing libraries: libiscdeskgone.so") {
		t.Errorf("no warning about the window's libraries on stderr: %q", out)
	}
	if log := readOr(e.installLog()); !strings.Contains(log, "libraries the desktop window (iscdesk-desktop) needs are missing: libiscdeskgone.so") ||
		!strings.Contains(log, "install complete") {
		t.Errorf("log:\n%s", log)
	}
}
