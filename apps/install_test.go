//go:build unix

package apps

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

const manifestV1 = `{"name": "acme-cad", "version": "2.1.0", "vendor": "ACME"}`

func TestInstallFromPath(t *testing.T) {
	for _, kind := range []string{"tar.gz", "tar", "zip"} {
		for _, prefix := range []string{"", "acme-suite/"} {
			for _, manifest := range []string{"", manifestV1} {
				name := fmt.Sprintf("%s/top=%q/manifest=%v", kind, prefix, manifest != "")
				t.Run(name, func(t *testing.T) {
					m, base := testManager(t)
					pkg := makeArchive(t, base, "software."+kind, kind, vendorEntries(prefix, manifest))
					var phases []Phase
					var last Progress
					rec, err := m.Install(context.Background(), pkg, InstallOptions{Progress: func(p Progress) {
						if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
							phases = append(phases, p.Phase)
						}
						if p.Phase == PhaseUnpack {
							last = p
						}
					}})
					if err != nil {
						t.Fatal(err)
					}
					wantName, wantVersion := "software", ""
					switch {
					case manifest != "":
						wantName, wantVersion = "acme-cad", "2.1.0"
					case prefix != "":
						wantName = "acme-suite"
					}
					if rec.Name != wantName || rec.Version != wantVersion || rec.Dir != filepath.Join(m.AppsDir, wantName) ||
						rec.State != StateInstalled || rec.Source != pkg || rec.InstalledAt.IsZero() {
						t.Errorf("record %+v", rec)
					}
					assertInstalled(t, rec.Dir)
					if !slices.Equal(phases, []Phase{PhaseUnpack, PhaseInstall}) {
						t.Errorf("phases %v", phases)
					}
					if last.Done != last.Total || last.Total <= 0 {
						t.Errorf("last unpack progress %+v", last)
					}
					if _, err := os.Stat(filepath.Join(m.Root, rec.Package, "uninstall.sh")); err != nil {
						t.Errorf("uninstall script not kept: %v", err)
					}
					if log, err := os.ReadFile(rec.Log); err != nil || !strings.Contains(string(log), "installed into "+rec.Dir) ||
						!strings.Contains(string(log), "install.sh succeeded") {
						t.Errorf("log %s: %q %v", rec.Log, log, err)
					}
					list, err := m.List()
					if err != nil || len(list) != 1 || list[0] != rec {
						t.Errorf("List: %+v %v, want %+v", list, err, rec)
					}
					assertClean(t, m, base)
				})
			}
		}
	}
}

// The content decides the format, not the file name.
func TestFormatByContent(t *testing.T) {
	m, base := testManager(t)
	entries := vendorEntries("", manifestV1)
	for _, c := range []struct{ name, kind string }{{"package.zip", "tar.gz"}, {"download.bin", "tar"}, {"pkg", "zip"}} {
		pkg := makeArchive(t, base, c.name, c.kind, entries)
		if _, err := m.Install(context.Background(), pkg, InstallOptions{}); err != nil {
			t.Errorf("%s holding a %s: %v", c.name, c.kind, err)
		}
	}
	junk := filepath.Join(base, "software.tar.gz")
	os.WriteFile(junk, []byte("this is not an archive at all, just text that goes on for a while"), 0o644)
	if _, err := m.Install(context.Background(), junk, InstallOptions{}); !errors.Is(err, ErrBadPackage) {
		t.Errorf("junk: %v", err)
	}
	truncated := makeArchive(t, base, "truncated.tar.gz", "tar.gz", entries)
	b, _ := os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)-20], 0o644)
	if _, err := m.Install(context.Background(), truncated, InstallOptions{}); !errors.Is(err, ErrBadPackage) {
		t.Errorf("truncated: %v", err)
	}
	assertClean(t, m, base)
}

func TestBadPackages(t *testing.T) {
	full := vendorEntries("", "")
	drop := func(script string) []entry {
		return slices.DeleteFunc(slices.Clone(full), func(e entry) bool { return e.name == script })
	}
	cases := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"no install.sh", drop("install.sh"), "no install.sh"},
		{"no uninstall.sh", drop("uninstall.sh"), "no uninstall.sh"},
		{"windows only", append(drop("install.sh"), entry{name: "install.bat", body: "@echo off\r\n"}), "another system"},
		{"bad json", append(slices.Clone(full), entry{name: "software.json", body: "{"}), "software.json"},
		{"no version", append(slices.Clone(full), entry{name: "software.json", body: `{"name":"x"}`}), "version"},
		{"name with slash", append(slices.Clone(full), entry{name: "software.json", body: `{"name":"../x","version":"1"}`}), "name"},
		{"two top folders", []entry{{name: "a/install.sh", body: installSh}, {name: "b/uninstall.sh", body: uninstallSh}}, "no install.sh"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, base := testManager(t)
			pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", c.entries)
			_, err := m.Install(context.Background(), pkg, InstallOptions{})
			if !errors.Is(err, ErrBadPackage) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrBadPackage about %q", err, c.want)
			}
			if list, _ := m.List(); len(list) != 0 {
				t.Errorf("recorded %v", list)
			}
			assertClean(t, m, base)
		})
	}
}

// Installing again over an existing install (an upgrade, or a repair)
// reuses its folder and replaces the record and the kept scripts.
func TestOverwriteInstall(t *testing.T) {
	m, base := testManager(t)
	dir := filepath.Join(base, "custom", "acme")
	v1 := makeArchive(t, base, "v1.tar.gz", "tar.gz", vendorEntries("", manifestV1))
	first, err := m.Install(context.Background(), v1, InstallOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v2entries := vendorEntries("", `{"name": "acme-cad", "version": "2.2.0"}`)
	for i := range v2entries {
		if strings.HasSuffix(v2entries[i].name, "readme.txt") {
			v2entries[i].body = "version two\n"
		}
	}
	v2 := makeArchive(t, base, "v2.zip", "zip", v2entries)
	second, err := m.Install(context.Background(), v2, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Dir != dir || second.Version != "2.2.0" || second.Package == first.Package {
		t.Errorf("second install %+v (first %+v)", second, first)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "readme.txt")); string(b) != "version two\n" {
		t.Errorf("readme %q", b)
	}
	if list, _ := m.List(); len(list) != 1 || list[0].Version != "2.2.0" {
		t.Errorf("list %+v", list)
	}
	if kept, _ := os.ReadDir(filepath.Join(m.Root, "packages")); len(kept) != 1 {
		t.Errorf("kept package folders %v", kept)
	}
	assertClean(t, m, base)
}

func TestWrongSHA256(t *testing.T) {
	m, base := testManager(t)
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", vendorEntries("", manifestV1))
	wrong := strings.Repeat("ab", 32)
	if _, err := m.Install(context.Background(), pkg, InstallOptions{SHA256: wrong}); !errors.Is(err, ErrChecksum) {
		t.Fatalf("wrong SHA-256: %v", err)
	}
	if _, err := os.Stat(pkg); err != nil {
		t.Errorf("the user's own file was removed: %v", err)
	}
	for _, bad := range []string{"abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := m.Install(context.Background(), pkg, InstallOptions{SHA256: bad}); !errs.Is(err, errs.Invalid) {
			t.Errorf("SHA-256 %q: %v", bad, err)
		}
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
	if _, err := os.Stat(m.AppsDir); err == nil {
		if entries, _ := os.ReadDir(m.AppsDir); len(entries) != 0 {
			t.Errorf("apps folder not empty: %v", entries)
		}
	}
	right := sha256File(t, pkg)
	if _, err := m.Install(context.Background(), pkg, InstallOptions{SHA256: strings.ToUpper(right)}); err != nil {
		t.Errorf("right SHA-256: %v", err)
	}
}

// Archives whose entries would land outside the package folder are refused
// before anything is written outside it.
func TestUnsafeArchives(t *testing.T) {
	ok := vendorEntries("", manifestV1)
	with := func(extra ...entry) []entry { return append(slices.Clone(ok), extra...) }
	cases := []struct {
		name, kind string
		entries    []entry
	}{
		{"tar dot-dot", "tar.gz", with(entry{name: "../evil", body: "x"})},
		{"tar dot-dot deep", "tar", with(entry{name: "payload/../../evil", body: "x"})},
		{"zip dot-dot", "zip", with(entry{name: "../evil", body: "x"})},
		{"zip dot-dot deep", "zip", with(entry{name: "a/b/../../../evil", body: "x"})},
		{"tar absolute", "tar.gz", with(entry{name: "/tmp/evil", body: "x"})},
		{"zip absolute", "zip", with(entry{name: "/tmp/evil", body: "x"})},
		{"zip drive letter", "zip", with(entry{name: "C:/evil", body: "x"})},
		{"zip backslashes", "zip", with(entry{name: `..\evil`, body: "x"})},
		{"tar backslashes", "tar", with(entry{name: `payload\..\..\evil`, body: "x"})},
		{"tar link out", "tar.gz", with(entry{name: "evil", link: "../outside"})},
		{"tar link absolute", "tar.gz", with(entry{name: "payload/evil", link: "/etc"})},
		{"tar link up too far", "tar.gz", with(entry{name: "payload/lib/evil", link: "../../../outside"})},
		{"tar link dot-dot inside", "tar", with(entry{name: "payload/evil", link: "lib/../../../outside"})},
		{"zip link out", "zip", with(entry{name: "payload/evil", link: "../../outside"})},
		{"zip link absolute", "zip", with(entry{name: "evil", link: "/etc/passwd"})},
		{"tar hard link out", "tar", with(entry{name: "evil", hard: "../outside"})},
		{"tar hard link absolute", "tar", with(entry{name: "evil", hard: "/etc/passwd"})},
		// A link pointing inside, then an entry written through it: the
		// link could have pointed anywhere by the time it is followed.
		{"tar write through link", "tar.gz", with(entry{name: "up", link: "."}, entry{name: "up/evil", body: "x"})},
		{"zip write through link", "zip", with(entry{name: "payload/l", link: "../payload"}, entry{name: "payload/l/evil", body: "x"})},
		{"tar replace link", "tar", with(entry{name: "payload/l", link: "bin"}, entry{name: "payload/l", link: "../../evil"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, base := testManager(t)
			pkg := makeArchive(t, base, "software."+c.kind, c.kind, c.entries)
			_, err := m.Install(context.Background(), pkg, InstallOptions{})
			if !errors.Is(err, ErrUnsafeArchive) {
				t.Fatalf("got %v, want ErrUnsafeArchive", err)
			}
			_ = filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
				if err == nil && (d.Name() == "evil" || d.Name() == "outside") {
					t.Errorf("written: %s", path)
				}
				return nil
			})
			if list, _ := m.List(); len(list) != 0 {
				t.Errorf("recorded %v", list)
			}
			assertClean(t, m, base)
		})
	}
}

func TestLimits(t *testing.T) {
	big := append(vendorEntries("", manifestV1), entry{name: "payload/big", body: strings.Repeat("x", 50_000)})
	for _, kind := range []string{"tar.gz", "zip"} {
		m, base := testManager(t)
		pkg := makeArchive(t, base, "software."+kind, kind, big)
		m.MaxUnpackedBytes = 40_000
		if _, err := m.Install(context.Background(), pkg, InstallOptions{}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s over the size cap: %v", kind, err)
		}
		m.MaxUnpackedBytes, m.MaxEntries = 0, 5
		if _, err := m.Install(context.Background(), pkg, InstallOptions{}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s over the entry cap: %v", kind, err)
		}
		assertClean(t, m, base)
	}
}

func TestScriptFails(t *testing.T) {
	m, base := testManager(t)
	entries := withScript(vendorEntries("", manifestV1), "install.sh", "#!/bin/sh\necho something broke >&2\nexit 3\n")
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", entries)
	_, err := m.Install(context.Background(), pkg, InstallOptions{})
	var se *ScriptError
	if !errors.As(err, &se) || se.ExitCode() != 3 || se.Script != "install.sh" || se.Package != "acme-cad" {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), se.Log) {
		t.Errorf("message %q", err)
	}
	if log, _ := os.ReadFile(se.Log); !strings.Contains(string(log), "something broke") {
		t.Errorf("log %q", log)
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("recorded %v", list)
	}
	if kept, _ := os.ReadDir(filepath.Join(m.Root, "packages")); len(kept) != 0 {
		t.Errorf("kept %v", kept)
	}
	if _, err := os.Stat(filepath.Join(m.AppsDir, "acme-cad")); err == nil {
		t.Errorf("empty target folder left behind")
	}
	assertClean(t, m, base)
}

// A script without a "#!" line, and one that lost its execute bit (zip from
// Windows), still run.
func TestScriptWithoutShebangOrExecBit(t *testing.T) {
	m, base := testManager(t)
	entries := vendorEntries("", manifestV1)
	for i := range entries {
		if entries[i].name == "install.sh" {
			entries[i].body = strings.TrimPrefix(entries[i].body, "#!/bin/sh\n")
			entries[i].mode = 0o644
		}
		if entries[i].name == "uninstall.sh" {
			entries[i].mode = 0o644
		}
	}
	pkg := makeArchive(t, base, "software.zip", "zip", entries)
	rec, err := m.Install(context.Background(), pkg, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Uninstall(context.Background(), rec.Name, nil); err != nil {
		t.Fatal(err)
	}
}

func TestScriptTimeout(t *testing.T) {
	m, base := testManager(t)
	m.ScriptTimeout = 300 * time.Millisecond
	entries := withScript(vendorEntries("", manifestV1), "install.sh", "#!/bin/sh\nsleep 30 &\nsleep 30\n")
	pkg := makeArchive(t, base, "software.tar", "tar", entries)
	start := time.Now()
	_, err := m.Install(context.Background(), pkg, InstallOptions{})
	var se *ScriptError
	if !errors.As(err, &se) || se.Timeout != m.ScriptTimeout || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the script's children kept it waiting", d)
	}
	assertClean(t, m, base)
}

func TestUninstall(t *testing.T) {
	m, base := testManager(t)
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", vendorEntries("acme/", manifestV1))
	rec, err := m.Install(context.Background(), pkg, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var phases []Phase
	if err := m.Uninstall(context.Background(), "ACME-CAD", func(p Progress) { phases = append(phases, p.Phase) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(phases, []Phase{PhaseUninstall}) {
		t.Errorf("phases %v", phases)
	}
	if _, err := os.Stat(rec.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("target folder left: %v", err)
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("still recorded: %v", list)
	}
	if kept, _ := os.ReadDir(filepath.Join(m.Root, "packages")); len(kept) != 0 {
		t.Errorf("kept package folder left: %v", kept)
	}
	logs, _ := filepath.Glob(filepath.Join(m.Root, "logs", "acme-cad-uninstall-*.log"))
	if len(logs) != 1 {
		t.Fatalf("uninstall logs %v", logs)
	} else if b, _ := os.ReadFile(logs[0]); !strings.Contains(string(b), "uninstalled") {
		t.Errorf("log %q", b)
	}
	if err := m.Uninstall(context.Background(), "acme-cad", nil); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second uninstall: %v", err)
	}
	// Nothing of the package is left but the logs.
	_ = filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(base, path)
		if err == nil && !d.IsDir() && !strings.HasPrefix(rel, "software") && !strings.HasPrefix(rel, filepath.Join("records", "logs")) &&
			!slices.Contains([]string{recordsFile, stagingFile, lockName}, d.Name()) {
			t.Errorf("left behind: %s", rel)
		}
		return nil
	})
}

// A failing uninstall script: the error says so, the record stays, marked,
// so that the user can retry; Forget drops it.
func TestUninstallScriptFails(t *testing.T) {
	m, base := testManager(t)
	entries := withScript(vendorEntries("", manifestV1), "uninstall.sh",
		"#!/bin/sh\nrm -f \"$1/readme.txt\"\necho cannot remove bin >&2\nexit 4\n")
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", entries)
	rec, err := m.Install(context.Background(), pkg, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retry fails the same way
		err = m.Uninstall(context.Background(), "acme-cad", nil)
		var se *ScriptError
		if !errors.As(err, &se) || se.ExitCode() != 4 || se.Script != "uninstall.sh" {
			t.Fatalf("got %v", err)
		}
		list, _ := m.List()
		if len(list) != 1 || list[0].State != StateUninstallFailed || !strings.Contains(list[0].Error, "exit status 4") || list[0].Log != se.Log {
			t.Fatalf("record %+v", list)
		}
		if b, _ := os.ReadFile(se.Log); !strings.Contains(string(b), "cannot remove bin") {
			t.Errorf("log %q", b)
		}
	}
	if _, err := os.Stat(filepath.Join(rec.Dir, "readme.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the script did not run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Root, rec.Package, "uninstall.sh")); err != nil {
		t.Errorf("kept scripts gone, no retry possible: %v", err)
	}
	if err := m.Forget(context.Background(), "acme-cad"); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.List(); len(list) != 0 {
		t.Errorf("after Forget: %v", list)
	}
	if _, err := os.Stat(filepath.Join(rec.Dir, "bin", "tool")); err != nil {
		t.Errorf("Forget touched the installed files: %v", err)
	}
}

func TestListJSON(t *testing.T) {
	m, base := testManager(t)
	for _, name := range []string{"zeta", "Alpha", "mid"} {
		pkg := makeArchive(t, base, name+".tar.gz", "tar.gz", vendorEntries("", `{"name":"`+name+`","version":"1.0"}`))
		if _, err := m.Install(context.Background(), pkg, InstallOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(list)
	var objs []map[string]any
	if err := json.Unmarshal(b, &objs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o["name"].(string))
		if o["version"] != "1.0" || o["dir"] != filepath.Join(m.AppsDir, o["name"].(string)) || o["state"] != "installed" {
			t.Errorf("object %v", o)
		}
	}
	if !slices.Equal(names, []string{"Alpha", "mid", "zeta"}) {
		t.Errorf("order %v", names)
	}
}

// Two installs at once on the same records take turns.
func TestConcurrentInstalls(t *testing.T) {
	m, base := testManager(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pkg := makeArchive(t, base, fmt.Sprintf("p%d.zip", i), "zip", vendorEntries("", fmt.Sprintf(`{"name":"p%d","version":"1"}`, i)))
		wg.Go(func() {
			// Each through its own Manager value, as two processes would.
			m2 := *m
			_, errs[i] = m2.Install(context.Background(), pkg, InstallOptions{})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if list, _ := m.List(); len(list) != len(errs) {
		t.Errorf("list %v", list)
	}
	assertClean(t, m, base)
}

func TestTargetChecks(t *testing.T) {
	m, base := testManager(t)
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", vendorEntries("", manifestV1))
	home, _ := os.UserHomeDir()
	for _, dir := range []string{"/", home, m.Root, filepath.Join(m.Root, "sub"), filepath.Dir(m.Root)} {
		if _, err := m.Install(context.Background(), pkg, InstallOptions{Dir: dir}); !errs.Is(err, errs.Invalid) {
			t.Errorf("--dir %s: %v", dir, err)
		}
	}
	if _, err := (&Manager{}).Install(context.Background(), pkg, InstallOptions{}); !errs.Is(err, errs.Invalid) {
		t.Errorf("zero Manager: %v", err)
	}
	if _, err := m.Install(context.Background(), filepath.Join(base, "missing.tar.gz"), InstallOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCancelDuringUnpack(t *testing.T) {
	m, base := testManager(t)
	big := make([]byte, 3<<20)
	rand.Read(big)
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", append(vendorEntries("", manifestV1), entry{name: "payload/big", body: string(big)}))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := m.Install(ctx, pkg, InstallOptions{Progress: func(p Progress) {
		if p.Phase == PhaseUnpack && p.Done > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	assertClean(t, m, base)
	if _, err := m.Install(context.Background(), pkg, InstallOptions{}); err != nil {
		t.Fatalf("re-run: %v", err)
	}
}
