//go:build linux

package deploytest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// fakeExeC is a stand-in for iscdesk.exe and iscdesk-desktop.exe (NAME),
// built with MinGW: it records its name and arguments in
// %ISCDESK_FAKE_LOG% (the uninstallers run "iscdesk forget"). The real Go
// binaries cannot serve under the wine of Debian 12: Go 1.24+ needs
// ProcessPrng from bcryptprimitives.dll, which wine 8 lacks.
const fakeExeC = `#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
	const char *log = getenv("ISCDESK_FAKE_LOG");
	if (log) {
		FILE *f = fopen(log, "a");
		if (f) {
			fputs(NAME, f);
			for (int i = 1; i < argc; i++) fprintf(f, " %s", argv[i]);
			fputs("\n", f);
			fclose(f);
		}
	}
	puts("fake " NAME);
	return 0;
}
`

// fakeExes writes dir/iscdesk.exe and dir/iscdesk-desktop.exe: MinGW-built
// stand-ins when the cross-compiler exists (runnable; the desktop one a
// GUI-subsystem program, as the real one is), else bytes that only look like
// PE files (enough for the structural checks). extra is appended (a PE
// overlay, so the programs still run) to tell versions apart.
func fakeExes(t testing.TB, dir, extra string) (cli, desktop string, runnable bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	runnable = err == nil
	var src string
	if runnable {
		src = filepath.Join(dir, "fake.c")
		if err := os.WriteFile(src, []byte(fakeExeC), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(src)
	}
	write := func(name string, ccFlags ...string) string {
		path := filepath.Join(dir, name+".exe")
		b := append([]byte("MZ"), make([]byte, 4094)...)
		if runnable {
			args := append([]string{"-O2", "-s", `-DNAME="` + name + `"`, "-o", path, src}, ccFlags...)
			if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				t.Fatalf("mingw: %v\n%s", err, out)
			}
			if b, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		b = append(b, []byte("\x00iscdesk-test-overlay "+name+" "+extra)...)
		if err := os.WriteFile(path, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("iscdesk"), write("iscdesk-desktop", "-mwindows"), runnable
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it)", tool)
		}
	}
}

// buildSetup runs makensis as deploy/dist.sh does, with the two programs in
// exeDir.
func buildSetup(t testing.TB, exeDir, out, version string) {
	t.Helper()
	cmd := exec.Command("makensis", "-V2", "-NOCD", "-DVERSION="+version, "-DEXE="+filepath.Join(exeDir, "iscdesk.exe"),
		"-DDESKTOPEXE="+filepath.Join(exeDir, "iscdesk-desktop.exe"), "-DOUTFILE="+out,
		filepath.Join(repoRoot(t), "deploy", "windows", "iscdesk.nsi"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makensis: %v\n%s", err, b)
	}
}

// buildMSI runs wixl as deploy/dist.sh does (from the exe's folder).
func buildMSI(t testing.TB, exeDir, out, version string) {
	t.Helper()
	cmd := exec.Command("wixl", "-a", "x64", "-D", "Version="+version, "-D", "Exe=iscdesk.exe", "-D", "DesktopExe=iscdesk-desktop.exe", "-o", out,
		filepath.Join(repoRoot(t), "deploy", "windows", "iscdesk.wxs"))
	cmd.Dir = exeDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wixl: %v\n%s", err, b)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// checkSetupExe checks that b is a 64-bit NSIS installer of version.
func checkSetupExe(t testing.TB, b []byte, version string) {
	t.Helper()
	if len(b) < 0x40 || string(b[:2]) != "MZ" {
		t.Fatal("setup.exe does not start with MZ")
	}
	pe := int(binary.LittleEndian.Uint32(b[0x3c:]))
	if pe+6 > len(b) || string(b[pe:pe+4]) != "PE\x00\x00" {
		t.Fatal("setup.exe has no PE header")
	}
	if m := binary.LittleEndian.Uint16(b[pe+4:]); m != 0x8664 {
		t.Errorf("setup.exe machine %#x, want amd64 (0x8664)", m)
	}
	// NSIS's first header carries this signature before the compressed data.
	if !bytes.Contains(b, []byte("NullsoftInst")) {
		t.Error("setup.exe lacks the NSIS signature")
	}
	// The version resource is stored uncompressed (UTF-16).
	for _, s := range []string{"ISCDesk installer", "ProductVersion", version} {
		if !bytes.Contains(b, utf16le(s)) {
			t.Errorf("setup.exe's version resource lacks %q", s)
		}
	}
}

// msiTable exports one table of an MSI with msiinfo.
func msiTable(t testing.TB, msi, table string) string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msi, table).CombinedOutput()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v\n%s", table, err, out)
	}
	return string(out)
}

// exeNames are the two programs the Windows installers install.
var exeNames = []string{"iscdesk.exe", "iscdesk-desktop.exe"}

// checkMSI checks that msi is a CFB file whose tables install the two
// programs (those in exeDir when it is not ""), with the Start menu shortcut
// on the window and the properties and custom actions the silent install
// needs. It returns the paths of the programs msiextract took out of it
// (none when msiextract is missing).
func checkMSI(t testing.TB, msi, exeDir, version string) (extracted map[string]string) {
	t.Helper()
	b, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		t.Fatal("the MSI is not a compound file (no D0 CF 11 E0 magic)")
	}
	tables, err := exec.Command("msiinfo", "tables", msi).CombinedOutput()
	if err != nil {
		t.Fatalf("msiinfo tables: %v\n%s", err, tables)
	}
	for _, name := range []string{"File", "Component", "CustomAction", "LaunchCondition", "Shortcut", "Registry", "AppSearch"} {
		if !strings.Contains("\n"+string(tables), "\n"+name+"\n") {
			t.Errorf("the MSI has no %s table: %s", name, tables)
		}
	}
	files := msiTable(t, msi, "File")
	for _, name := range exeNames {
		// A long name is stored as "SHORT~1.EXE|long-name.exe".
		if !strings.Contains(files, "\t"+name+"\t") && !strings.Contains(files, "|"+name+"\t") {
			t.Errorf("File table lacks %s:\n%s", name, files)
		}
	}
	if sc := msiTable(t, msi, "Shortcut"); !strings.Contains(sc, "\t[INSTALLDIR]iscdesk-desktop.exe\t") {
		t.Errorf("the Start menu shortcut does not start [INSTALLDIR]iscdesk-desktop.exe:\n%s", sc)
	}
	props := msiTable(t, msi, "Property")
	for _, p := range []string{"ProductVersion\t" + version, "ProductName\tISCDesk", "MsiLogging\t", "UpgradeCode\t"} {
		if !strings.Contains(props, p) {
			t.Errorf("Property table lacks %q:\n%s", p, props)
		}
	}
	cas := msiTable(t, msi, "CustomAction")
	for _, ca := range []string{"ConfigBegin", "ConfigServer", "ConfigServerKey", "ConfigProxy", "ConfigGrace", "ConfigEnd", "DeleteConfig", "Forget", "NoShortcuts"} {
		if !strings.Contains(cas, "\n"+ca+"\t") {
			t.Errorf("CustomAction table lacks %s:\n%s", ca, cas)
		}
	}
	if _, err := exec.LookPath("msiextract"); err == nil {
		dir := t.TempDir()
		if out, err := exec.Command("msiextract", "-C", dir, msi).CombinedOutput(); err != nil {
			t.Fatalf("msiextract: %v\n%s", err, out)
		}
		extracted = map[string]string{}
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && contains(exeNames, d.Name()) {
				extracted[d.Name()] = p
			}
			return nil
		})
		for _, name := range exeNames {
			if found, ok := extracted[name]; !ok {
				t.Errorf("msiextract found no %s in the MSI", name)
			} else if exeDir != "" && fileSum(t, found) != fileSum(t, filepath.Join(exeDir, name)) {
				t.Errorf("the %s in the MSI differs from the one built", name)
			}
		}
	}
	return extracted
}

func TestWindowsSetupStructure(t *testing.T) {
	needTools(t, "makensis")
	dir := t.TempDir()
	exe, _, _ := fakeExes(t, filepath.Join(dir, "win"), "v1")
	setup := filepath.Join(dir, "setup.exe")
	buildSetup(t, filepath.Dir(exe), setup, "9.8.7")
	b, err := os.ReadFile(setup)
	if err != nil {
		t.Fatal(err)
	}
	checkSetupExe(t, b, "9.8.7")
}

// testMSI builds an MSI of version 9.8.7 from fakeExes in a temporary
// folder; it returns the MSI and the programs' folder.
func testMSI(t testing.TB) (msi, exeDir string) {
	t.Helper()
	needTools(t, "wixl", "msiinfo")
	dir := t.TempDir()
	exe, _, _ := fakeExes(t, filepath.Join(dir, "win"), "v1")
	msi = filepath.Join(dir, "iscdesk.msi")
	buildMSI(t, filepath.Dir(exe), msi, "9.8.7")
	return msi, filepath.Dir(exe)
}

func TestWindowsMSIStructure(t *testing.T) {
	msi, exeDir := testMSI(t)
	checkMSI(t, msi, exeDir, "9.8.7")
}

// ---- under wine (ISCDESK_WINE=1) ----------------------------------------------

// wine is a private wine prefix.
type wine struct {
	t       testing.TB
	bin     string // wine64 or wine
	server  string // wineserver
	prefix  string // WINEPREFIX
	fakeLog string // Linux path of the fake exe's log
}

func findWine() (bin, server string) {
	for _, c := range []string{"wine64", "wine", "/usr/lib/wine/wine64"} {
		if p, err := exec.LookPath(c); err == nil {
			bin = p
			break
		}
	}
	for _, c := range []string{"wineserver", "/usr/lib/wine/wineserver"} {
		if p, err := exec.LookPath(c); err == nil {
			server = p
			break
		}
	}
	return bin, server
}

// newWine boots a fresh prefix in a temporary folder; its wineserver is
// stopped at the end. Skips unless ISCDESK_WINE=1.
func newWine(t *testing.T) *wine {
	t.Helper()
	if os.Getenv("ISCDESK_WINE") != "1" {
		t.Skip("set ISCDESK_WINE=1 to run the Windows installers under wine")
	}
	bin, server := findWine()
	if bin == "" || server == "" {
		t.Fatal("ISCDESK_WINE=1 but wine is not installed (Debian: apt-get install wine64)")
	}
	dir := t.TempDir()
	w := &wine{t: t, bin: bin, server: server, prefix: filepath.Join(dir, "prefix"), fakeLog: filepath.Join(dir, "fake.log")}
	t.Cleanup(w.stop)
	if code, out := w.run(3*time.Minute, "wineboot", "-i"); code != 0 {
		t.Fatalf("wineboot: exit %d\n%s", code, out)
	}
	return w
}

// stop waits for the prefix's wineserver to exit (it does a few seconds
// after its last client) so that it removes its socket folder in /tmp,
// killing it if it lingers; then removes that folder if it stayed.
func (w *wine) stop() {
	var serverDir string
	if info, err := os.Stat(w.prefix); err == nil {
		st := info.Sys().(*syscall.Stat_t)
		serverDir = fmt.Sprintf("server-%x-%x", st.Dev, st.Ino)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.server, "-w")
	cmd.Env = w.env()
	if cmd.Run() != nil {
		kill := exec.Command(w.server, "-k")
		kill.Env = w.env()
		_ = kill.Run()
	}
	if serverDir == "" {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "wine-*", serverDir))
	more, _ := filepath.Glob(filepath.Join(os.TempDir(), ".wine-*", serverDir))
	for _, d := range append(dirs, more...) {
		os.RemoveAll(d)
		if strings.HasPrefix(filepath.Base(filepath.Dir(d)), "wine-") {
			os.Remove(filepath.Dir(d)) // only when empty
		}
	}
}

func (w *wine) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Dir(w.prefix),
		"WINEPREFIX=" + w.prefix,
		"WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=", // no Mono/Gecko install prompts
		"ISCDESK_FAKE_LOG=" + winPath(w.fakeLog),
	}
}

// winPath is a Linux path as wine's Z: drive sees it.
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// c is the Linux path of a C:\ path in the prefix.
func (w *wine) c(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "C:"), "c:")
	return filepath.Join(w.prefix, "drive_c", strings.ReplaceAll(p, `\`, "/"))
}

func (w *wine) run(timeout time.Duration, args ...string) (int, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.Env = w.env()
	code, out := run(w.t, cmd)
	if ctx.Err() != nil {
		w.t.Fatalf("wine %v: timed out\n%s", args, out)
	}
	return code, out
}

// runLine runs a raw Windows command line (as an administrator would type
// it, quotes and all) through a batch file: passed as arguments, wine would
// re-quote them.
func (w *wine) runLine(timeout time.Duration, line string) (int, string) {
	w.t.Helper()
	bat := filepath.Join(filepath.Dir(w.prefix), "run.bat")
	if err := os.WriteFile(bat, []byte("@"+line+"\r\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return w.run(timeout, "cmd", "/c", winPath(bat))
}

// regQuery returns `reg query KEY` output and whether the key exists.
func (w *wine) regQuery(key string) (string, bool) {
	code, out := w.run(time.Minute, "reg", "query", key)
	return out, code == 0
}

func (w *wine) exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// waitGone polls until none of paths exists (the NSIS uninstaller returns
// before it is done when run without _?=).
func (w *wine) waitGone(timeout time.Duration, paths ...string) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := 0
		for _, p := range paths {
			if w.exists(p) {
				left++
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("still there after %v: %v", timeout, paths)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tempLog is the content of a log the installers write to %TEMP%.
func (w *wine) tempLog(name string) string {
	logs, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "Temp", name))
	var b strings.Builder
	for _, l := range logs {
		b.WriteString(readOr(l))
	}
	return b.String()
}

// userAppData is the Linux path of the wine user's %AppData%.
func (w *wine) userAppData() string {
	users, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*"))
	for _, u := range users {
		if filepath.Base(u) != "Public" {
			return filepath.Join(u, "AppData", "Roaming")
		}
	}
	w.t.Fatal("no user profile in the wine prefix")
	return ""
}

const uninstKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\iscdesk`

func TestWineNSIS(t *testing.T) {
	needTools(t, "makensis")
	w := newWine(t)
	dir := t.TempDir()
	exe1, desk1, runnable := fakeExes(t, filepath.Join(dir, "v1"), "v1")
	exe2, desk2, _ := fakeExes(t, filepath.Join(dir, "v2"), "v2")
	setup1, setup2 := filepath.Join(dir, "setup1.exe"), filepath.Join(dir, "setup2.exe")
	buildSetup(t, filepath.Dir(exe1), setup1, "1.0.0")
	buildSetup(t, filepath.Dir(exe2), setup2, "2.0.0")
	inst := `C:\iscdesk test` // a space, as in "Program Files"
	config := w.c(`C:\ProgramData\iscdesk\config.json`)
	shortcut := w.c(`C:\ProgramData\Microsoft\Windows\Start Menu\Programs\ISCDesk.lnk`)

	// A bad option: exit 2, nothing installed.
	for _, bad := range []string{"/GRACEDAYS=7d", "/SERVER=http://license.example.com", "/SERVERKEY=not-a-key",
		"/SERVERKEY=" + testServerKey[:40] + "A$B=", "/ENDPOINT=https://mkt.example.com"} {
		if code, out := w.run(2*time.Minute, setup1, "/S", bad, `/D=C:\iscdesk-bad`); code != 2 {
			t.Errorf("setup %s: exit %d, want 2\n%s", bad, code, out)
		}
	}
	if w.exists(w.c(`C:\iscdesk-bad`)) {
		t.Error("a refused install created its folder")
	}

	// Fresh install with settings, each quoting style an administrator may
	// use: a whole quoted switch, a quoted value, a plain one.
	line := winPath(setup1) + ` /S "/SERVER=https://license.example.com/api?a=1&b=2" /SERVERKEY=` + testServerKey +
		` /GRACEDAYS=030 /PROXY="http://proxy.example:3128" /D=` + inst
	if code, out := w.runLine(2*time.Minute, line); code != 0 {
		t.Fatalf("%s: exit %d\n%s\nlog:\n%s", line, code, out, w.tempLog("iscdesk-install.log"))
	}
	if fileSum(t, w.c(inst+`\iscdesk.exe`)) != fileSum(t, exe1) {
		t.Error("installed iscdesk.exe differs from version 1")
	}
	if fileSum(t, w.c(inst+`\iscdesk-desktop.exe`)) != fileSum(t, desk1) {
		t.Error("installed iscdesk-desktop.exe differs from version 1")
	}
	for _, p := range []string{w.c(inst + `\uninstall.exe`), shortcut} {
		if !w.exists(p) {
			t.Errorf("%s is missing", p)
		}
	}
	checkShortcut(t, shortcut, "iscdesk-desktop.exe")
	if w.exists(w.c(inst + `\.staging`)) {
		t.Errorf("the staging folder stays: %v\nlog:\n%s", dirList(w.c(inst+`\.staging`)), w.tempLog("iscdesk-install.log"))
	}
	cfg := readConfig(t, config)
	if cfg["server"] != "https://license.example.com/api?a=1&b=2" || cfg["server_key"] != testServerKey ||
		cfg["proxy"] != "http://proxy.example:3128" || cfg["grace_days"] != float64(30) || len(cfg) != 4 {
		t.Errorf("config.json = %v", cfg)
	}
	reg, ok := w.regQuery(uninstKey)
	if !ok || !strings.Contains(reg, "1.0.0") || !strings.Contains(reg, `"`+inst+`\uninstall.exe" /S`) {
		t.Errorf("Add/Remove Programs entry:\n%s", reg)
	}

	// Overwrite install of version 2, no settings, no shortcuts.
	if code, out := w.run(2*time.Minute, setup2, "/S", "/NOSHORTCUTS", "/D="+inst); code != 0 {
		t.Fatalf("setup2 /S: exit %d\n%s\nlog:\n%s", code, out, w.tempLog("iscdesk-install.log"))
	}
	if fileSum(t, w.c(inst+`\iscdesk.exe`)) != fileSum(t, exe2) || fileSum(t, w.c(inst+`\iscdesk-desktop.exe`)) != fileSum(t, desk2) {
		t.Error("installed iscdesk.exe and iscdesk-desktop.exe are not version 2")
	}
	if w.exists(shortcut) {
		t.Error("the shortcut of version 1 stays after /NOSHORTCUTS")
	}
	if got := readConfig(t, config); got["server"] != cfg["server"] || got["server_key"] != cfg["server_key"] {
		t.Errorf("config after an upgrade without settings: %v", got)
	}
	if reg, _ := w.regQuery(uninstKey); !strings.Contains(reg, "2.0.0") {
		t.Errorf("Add/Remove Programs entry after the upgrade:\n%s", reg)
	}

	// Uninstall with /PURGE, waiting for it (_?=): everything goes, the
	// cached authorization of the user too.
	fallback := filepath.Join(w.userAppData(), "iscdesk")
	if err := os.MkdirAll(fallback, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"authorization.sealed", "install.secret"} {
		if err := os.WriteFile(filepath.Join(fallback, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	line = `"` + inst + `\uninstall.exe" /S /PURGE _?=` + inst
	if code, out := w.runLine(2*time.Minute, line); code != 0 {
		t.Fatalf("%s: exit %d\n%s\nlog:\n%s", line, code, out, w.tempLog("iscdesk-uninstall.log"))
	}
	for _, p := range []string{w.c(inst + `\iscdesk.exe`), w.c(inst + `\iscdesk-desktop.exe`), config, filepath.Dir(config), fallback} {
		if w.exists(p) {
			t.Errorf("%s stays after uninstall", p)
		}
	}
	if _, ok := w.regQuery(uninstKey); ok {
		t.Error("the Add/Remove Programs entry stays")
	}
	if runnable {
		if got := strings.TrimSpace(readOr(w.fakeLog)); got != "iscdesk forget" {
			t.Errorf("the uninstaller ran the programs as %q, want \"iscdesk forget\"", got)
		}
	}

	// The plain form: uninstall.exe /S returns at once and finishes from a
	// copy in %TEMP%.
	if code, out := w.run(2*time.Minute, setup2, "/S", "/D="+inst); code != 0 {
		t.Fatalf("setup2 /S: exit %d\n%s\nlog:\n%s", code, out, w.tempLog("iscdesk-install.log"))
	}
	if code, out := w.run(2*time.Minute, w.c(inst+`\uninstall.exe`), "/S"); code != 0 {
		t.Fatalf("uninstall.exe /S: exit %d\n%s", code, out)
	}
	w.waitGone(time.Minute, w.c(inst), shortcut)
	if _, ok := w.regQuery(uninstKey); ok {
		t.Error("the Add/Remove Programs entry stays")
	}
	logs, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "Temp", "iscdesk-*install.log"))
	if len(logs) != 2 {
		t.Errorf("logs in %%TEMP%%: %v, want iscdesk-install.log and iscdesk-uninstall.log", logs)
	}
}

func TestWineMSI(t *testing.T) {
	needTools(t, "wixl")
	w := newWine(t)
	dir := t.TempDir()
	exe, desk, runnable := fakeExes(t, filepath.Join(dir, "win"), "v1")
	msi := filepath.Join(dir, "iscdesk.msi")
	buildMSI(t, filepath.Dir(exe), msi, "1.0.0")
	config := w.c(`C:\ProgramData\iscdesk\config.json`)
	shortcuts := func() []string {
		var found []string
		_ = filepath.WalkDir(filepath.Join(w.prefix, "drive_c"), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "ISCDesk.lnk" {
				found = append(found, p)
			}
			return nil
		})
		return found
	}

	// A launch condition refuses a bad setting: nothing installed.
	for _, bad := range []string{"GRACEDAYS=7d", "SERVER=http://license.example.com", "SERVERKEY=not-a-key", "ENDPOINT=https://mkt.example.com"} {
		if code, _ := w.run(2*time.Minute, "msiexec", "/i", winPath(msi), "/qn", `INSTALLDIR=C:\msi-bad`, bad); code == 0 {
			t.Errorf("msiexec with %s succeeded", bad)
		}
	}
	if w.exists(w.c(`C:\msi-bad`)) {
		t.Error("a refused install created its folder")
	}

	inst := `C:\msi-test`
	if code, out := w.run(2*time.Minute, "msiexec", "/i", winPath(msi), "/qn", "INSTALLDIR="+inst,
		"SERVER=https://license.example.com/api?a=1&b=2", "SERVERKEY="+testServerKey, "PROXY=http://proxy.example:3128", "GRACEDAYS=30"); code != 0 {
		t.Fatalf("msiexec /i: exit %d\n%s", code, out)
	}
	if fileSum(t, w.c(inst+`\iscdesk.exe`)) != fileSum(t, exe) {
		t.Error("installed iscdesk.exe differs from the one built")
	}
	if fileSum(t, w.c(inst+`\iscdesk-desktop.exe`)) != fileSum(t, desk) {
		t.Error("installed iscdesk-desktop.exe differs from the one built")
	}
	cfg := readConfig(t, config)
	want := map[string]any{"written_by": "msi", "server": "https://license.example.com/api?a=1&b=2", "server_key": testServerKey,
		"proxy": "http://proxy.example:3128", "grace_days": float64(30)}
	if len(cfg) != len(want) {
		t.Errorf("config.json = %v, want %v", cfg, want)
	}
	for k, v := range want {
		if cfg[k] != v {
			t.Errorf("config.json %s = %v, want %v", k, cfg[k], v)
		}
	}
	if s := shortcuts(); len(s) != 1 {
		t.Errorf("shortcuts: %v", s)
	} else {
		checkShortcut(t, s[0], "iscdesk-desktop.exe")
	}

	// Uninstall without INSTALLDIR: the remembered folder is found.
	if code, out := w.run(2*time.Minute, "msiexec", "/x", winPath(msi), "/qn", "PURGE=1"); code != 0 {
		t.Fatalf("msiexec /x: exit %d\n%s", code, out)
	}
	for _, p := range []string{w.c(inst), config, filepath.Dir(config)} {
		if w.exists(p) {
			t.Errorf("%s stays after msiexec /x", p)
		}
	}
	if s := shortcuts(); len(s) != 0 {
		t.Errorf("shortcuts stay: %v", s)
	}
	if runnable {
		if got := strings.TrimSpace(readOr(w.fakeLog)); got != "iscdesk forget" {
			t.Errorf("PURGE=1 ran the programs as %q, want \"iscdesk forget\"", got)
		}
	}

	// NOSHORTCUTS=1 and no settings: neither a shortcut nor a config file.
	if code, out := w.run(2*time.Minute, "msiexec", "/i", winPath(msi), "/qn", "NOSHORTCUTS=1"); code != 0 {
		t.Fatalf("msiexec /i NOSHORTCUTS=1: exit %d\n%s", code, out)
	}
	for _, name := range exeNames {
		if !w.exists(w.c(`C:\Program Files\iscdesk\` + name)) {
			t.Errorf("no %s in the default folder", name)
		}
	}
	if s := shortcuts(); len(s) != 0 {
		t.Errorf("shortcuts with NOSHORTCUTS=1: %v", s)
	}
	if w.exists(config) {
		t.Error("a config file without settings")
	}
	if code, out := w.run(2*time.Minute, "msiexec", "/x", winPath(msi), "/qn"); code != 0 {
		t.Fatalf("msiexec /x: exit %d\n%s", code, out)
	}
	if w.exists(w.c(`C:\Program Files\iscdesk`)) {
		t.Error("the install folder stays")
	}
}

// dirList names what is in dir, for failure messages.
func dirList(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// checkShortcut checks that the shell link lnk starts target (a file name):
// a .lnk file holds its target's path in ANSI or UTF-16.
func checkShortcut(t testing.TB, lnk, target string) {
	t.Helper()
	b, err := os.ReadFile(lnk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bytes.ToLower(b), []byte(target)) && !bytes.Contains(bytes.ToLower(b), utf16le(target)) {
		t.Errorf("the shortcut %s does not start %s", lnk, target)
	}
}
