//go:build linux

package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// The machine-wide configuration applies to every user of the machine, so
// only the administrators may be able to change it: the installers make its
// folder theirs whether settings are given or not, and replace a file left
// there rather than write through it (the client refuses what others can
// change: internal/config/perm.go).

// nobody is the user the Linux tests give a planted folder and file (as
// root).
const nobody = 65534

// plantLinuxConfig makes the configuration folder as another user could
// have left it: theirs, writable by everyone, holding a config.json of
// theirs that is a hard link to a file elsewhere. It returns that file.
func plantLinuxConfig(t *testing.T, e *env) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the folder cannot be given to another user")
	}
	if err := os.MkdirAll(e.confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(t.TempDir(), "theirs.json")
	if err := os.WriteFile(theirs, []byte(`{"solver_command":["/tmp/evil"]}`), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(theirs, e.config()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{e.confDir, theirs} {
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return theirs
}

// ownerMode is a file's owner and permissions.
func ownerMode(t *testing.T, path string) (uint32, os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Uid, info.Mode().Perm()
}

// As root, install.sh makes a configuration folder another user owns and
// may write root's, mode 0755, before it puts the new config.json there (a
// new file, root's, 0644: the planted one is not written through), and the
// client's own check (internal/config) accepts the result.
func TestInstallMachineConfigRootOnly(t *testing.T) {
	e := newEnv(t, t.TempDir())
	release(t, e.src, "1.0.0")
	theirs := plantLinuxConfig(t, e)
	e.mustInstall("--proxy", "http://proxy.example:3128")
	if uid, mode := ownerMode(t, e.confDir); uid != 0 || mode != 0o755 {
		t.Errorf("%s: uid %d, mode %v; want root's, 0755", e.confDir, uid, mode)
	}
	if uid, mode := ownerMode(t, e.config()); uid != 0 || mode != 0o644 {
		t.Errorf("%s: uid %d, mode %v; want root's, 0644", e.config(), uid, mode)
	}
	if b, _ := os.ReadFile(theirs); !strings.Contains(string(b), "evil") {
		t.Errorf("install.sh wrote through the planted config.json: %q", b)
	}
	c, err := config.Load(config.Paths{Machine: e.config()}, nil)
	if err != nil || c.Proxy != "http://proxy.example:3128" {
		t.Errorf("the client reads %+v, %v", c, err)
	}
}

// Without settings an existing config.json is kept, not copied into a file
// of root's (it may be what another user planted), but install.sh warns that
// the client refuses it, and the folder is root's all the same.
func TestInstallMachineConfigPlantedKeptAndWarned(t *testing.T) {
	e := newEnv(t, t.TempDir())
	release(t, e.src, "1.0.0")
	theirs := plantLinuxConfig(t, e)
	code, out := e.install(nil)
	if code != 0 {
		t.Fatalf("install.sh: exit %d\n%s\n%s", code, out, readOr(e.installLog()))
	}
	if uid, mode := ownerMode(t, e.confDir); uid != 0 || mode != 0o755 {
		t.Errorf("%s: uid %d, mode %v; want root's, 0755", e.confDir, uid, mode)
	}
	if uid, _ := ownerMode(t, e.config()); uid != nobody || fileSum(t, e.config()) != fileSum(t, theirs) {
		t.Errorf("the planted config.json was changed (uid %d)", uid)
	}
	want := "warning: " + e.config() + " can be changed by another user than root, so iscdesk refuses it"
	if !strings.Contains(out, want) || !strings.Contains(readOr(e.installLog()), want) {
		t.Errorf("no warning %q:\n%s\nlog:\n%s", want, out, readOr(e.installLog()))
	}
	if _, err := config.Load(config.Paths{Machine: e.config()}, nil); !errs.Is(err, errs.Permission) {
		t.Errorf("the client reads the planted file: %v", err)
	}
}

// TestWindowsMSIMachineConfigSecured: the MSI secures the configuration
// folder on every install, after CreateFolders made it and before anything
// is written in it, and deletes a config.json.new left there before writing
// its own. Under wine icacls is a stub, so what it is asked is checked here.
func TestWindowsMSIMachineConfigSecured(t *testing.T) {
	msi, _ := testMSI(t)

	actions := map[string]string{} // action: its command
	for _, row := range tableRows(msiTable(t, msi, "CustomAction")) {
		if len(row) >= 4 {
			actions[row[0]] = row[3]
		}
	}
	type step struct {
		cond string
		seq  int
	}
	seq := map[string]step{}
	for _, row := range tableRows(msiTable(t, msi, "InstallExecuteSequence")) {
		if len(row) == 3 {
			n, _ := strconv.Atoi(row[2])
			seq[row[0]] = step{row[1], n}
		}
	}

	secure := actions["SecureConfigDir"]
	for _, part := range []string{
		`takeown /F "[CONFIGDIR]." /A`,
		`icacls "[CONFIGDIR]." /setowner *S-1-5-32-544 && `,
		`icacls "[CONFIGDIR]." /reset && `,
		`icacls "[CONFIGDIR]." /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F *S-1-5-32-545:(OI)(CI)RX`,
	} {
		if !strings.Contains(secure, part) {
			t.Errorf("SecureConfigDir lacks %q: %q", part, secure)
		}
	}
	// What those icacls calls leave, by the client's own rule.
	if g := regexp.MustCompile(`/setowner \*(S-[0-9-]+) .*/inheritance:r /grant:r ((?:\*S-[0-9-]+:\S+ ?)+)$`).FindStringSubmatch(secure); g == nil {
		t.Errorf("cannot read the owner and the grants of %q", secure)
	} else {
		acl := config.ACL{Owner: g[1]}
		for _, grant := range strings.Fields(g[2]) {
			sid, perms, _ := strings.Cut(strings.TrimPrefix(grant, "*"), ":")
			rights := perms[strings.LastIndex(perms, ")")+1:]
			acl.Entries = append(acl.Entries, config.ACE{SID: sid, Mask: rightsMasks[rights], InheritOnly: strings.Contains(perms, "(IO)")})
		}
		checkAdministrators(t, "the MSI's icacls", acl)
	}
	if !strings.HasPrefix(actions["UnlinkConfigDir"], `/d /c rmdir "[CONFIGDIR]."`) {
		t.Errorf("UnlinkConfigDir = %q", actions["UnlinkConfigDir"])
	}
	// Every install, settings or not; the folder exists (CreateFolders)
	// and nothing is in it yet (InstallFiles, ConfigBegin).
	s, u := seq["SecureConfigDir"], seq["UnlinkConfigDir"]
	if s.cond != "NOT REMOVE" || u.cond != "NOT REMOVE" {
		t.Errorf("conditions: SecureConfigDir %q, UnlinkConfigDir %q; want NOT REMOVE", s.cond, u.cond)
	}
	if !(u.seq < seq["CreateFolders"].seq && seq["CreateFolders"].seq < s.seq && s.seq < seq["InstallFiles"].seq && s.seq < seq["ConfigBegin"].seq) {
		t.Errorf("sequence: UnlinkConfigDir %d, CreateFolders %d, SecureConfigDir %d, InstallFiles %d, ConfigBegin %d",
			u.seq, seq["CreateFolders"].seq, s.seq, seq["InstallFiles"].seq, seq["ConfigBegin"].seq)
	}
	if begin := actions["ConfigBegin"]; !strings.HasPrefix(begin, `/d /c del /f /q "[CONFIGDIR]config.json.new" 2>nul & >"[CONFIGDIR]config.json.new" echo `) {
		t.Errorf("ConfigBegin does not delete config.json.new before writing it: %q", begin)
	}
}

// tableRows splits an msiinfo export into rows, without its three header
// lines.
func tableRows(export string) [][]string {
	lines := strings.Split(strings.ReplaceAll(export, "\r\n", "\n"), "\n")
	var rows [][]string
	for i, l := range lines {
		if i < 3 || l == "" {
			continue
		}
		rows = append(rows, strings.Split(l, "\t"))
	}
	return rows
}

// sidAliases are the SDDL abbreviations the installers use.
var sidAliases = map[string]string{
	"BA": config.SIDAdministrators, "SY": config.SIDSystem, "BU": config.SIDUsers,
	"WD": config.SIDEveryone, "CO": config.SIDCreatorOwner, "AU": "S-1-5-11",
}

// rightsMasks are SDDL's and icacls's names for the access masks the
// installers grant.
var rightsMasks = map[string]uint32{
	"FA": 0x1f01ff, "F": 0x1f01ff, "M": 0x1301bf, "RX": 0x1200a9, "R": 0x120089, "W": 0x100116,
}

// parseSDDL reads the owner and access list of an SDDL string, as far as
// the installers write them; protected reports the P flag (nothing
// inherited).
func parseSDDL(t *testing.T, sddl string) (acl config.ACL, protected bool) {
	t.Helper()
	m := regexp.MustCompile(`^O:([A-Z]{2}|S-[0-9-]+)D:([A-Z]*)((?:\([^)]*\))*)$`).FindStringSubmatch(sddl)
	if m == nil {
		t.Fatalf("cannot read the SDDL %q", sddl)
	}
	sid := func(s string) string {
		if a, ok := sidAliases[s]; ok {
			return a
		}
		return s
	}
	acl.Owner = sid(m[1])
	protected = strings.Contains(m[2], "P")
	for _, ace := range regexp.MustCompile(`\(([^)]*)\)`).FindAllStringSubmatch(m[3], -1) {
		f := strings.Split(ace[1], ";")
		if len(f) != 6 {
			t.Fatalf("cannot read the entry %q", ace[0])
		}
		mask, ok := rightsMasks[f[2]]
		if !ok {
			n, err := strconv.ParseUint(f[2], 0, 32)
			if err != nil {
				t.Fatalf("cannot read the rights of %q", ace[0])
			}
			mask = uint32(n)
		}
		acl.Entries = append(acl.Entries, config.ACE{SID: sid(f[5]), Deny: f[0] == "D", Mask: mask, InheritOnly: strings.Contains(f[1], "IO")})
	}
	return acl, protected
}

// checkAdministrators checks the security the installers give the folder:
// owner Administrators; exactly SYSTEM and Administrators full control,
// Users read and execute; and the client's own rule accepts it.
func checkAdministrators(t *testing.T, what string, acl config.ACL) {
	t.Helper()
	if ws := config.ACLWriters(acl, ""); ws != nil {
		t.Errorf("%s: the client would refuse it: %+v", what, ws)
	}
	if acl.Owner != config.SIDAdministrators {
		t.Errorf("%s: owner %s, want Administrators", what, acl.Owner)
	}
	var got []string
	for _, e := range acl.Entries {
		got = append(got, e.SID+" "+strconv.FormatUint(uint64(e.Mask), 16)+" deny="+strconv.FormatBool(e.Deny)+" io="+strconv.FormatBool(e.InheritOnly))
	}
	slices.Sort(got)
	want := []string{
		config.SIDSystem + " 1f01ff deny=false io=false",
		config.SIDAdministrators + " 1f01ff deny=false io=false",
		config.SIDUsers + " 1200a9 deny=false io=false",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: entries %v, want %v", what, got, want)
	}
}

// TestWindowsNSISMachineConfigSDDL: the security the NSIS installer gives
// the configuration folder and file (CONFIGSDDL, set with
// SetNamedSecurityInfo) is the administrators' alone by the client's own
// rule, and inherits nothing from %ProgramData%. (Wine does not keep
// security descriptors: TestWineMachineConfigSecured cannot read it back.)
func TestWindowsNSISMachineConfigSDDL(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "windows", "iscdesk.nsi"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^!define CONFIGSDDL "([^"]*)"$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("iscdesk.nsi defines no CONFIGSDDL")
	}
	acl, protected := parseSDDL(t, string(m[1]))
	checkAdministrators(t, "CONFIGSDDL", acl)
	if !protected {
		t.Errorf("CONFIGSDDL %s inherits from %%ProgramData%% (no P flag)", m[1])
	}
	for _, e := range regexp.MustCompile(`\(A;([A-Z]*);`).FindAllSubmatch(m[1], -1) {
		if string(e[1]) != "OICI" {
			t.Errorf("CONFIGSDDL: an entry with flags %s, want OICI (inherited by the files inside)", e[1])
		}
	}
}

// plantConfigDir makes %ProgramData%\iscdesk as a user could before the
// install: a folder holding config.json and config.json.new, each a hard
// link to a file of theirs elsewhere. An installer that writes through
// either (rewriting a file in place keeps its owner and permissions)
// changes that file. It returns those files.
func plantConfigDir(t *testing.T, w *wine) []string {
	t.Helper()
	confDir := w.c(`C:\ProgramData\iscdesk`)
	if err := os.MkdirAll(confDir, 0o777); err != nil {
		t.Fatal(err)
	}
	var theirs []string
	for _, name := range []string{"config.json", "config.json.new"} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(`{"solver_command":["C:\\Users\\Public\\evil.exe"]}`), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(p, filepath.Join(confDir, name)); err != nil {
			t.Fatal(err)
		}
		theirs = append(theirs, p)
	}
	return theirs
}

func checkUntouched(t *testing.T, installer string, theirs []string) {
	t.Helper()
	for _, p := range theirs {
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), "evil.exe") {
			t.Errorf("%s wrote through the %s a user left: it now holds %q (%v)", installer, filepath.Base(p), b, err)
		}
	}
}

// TestWineMachineConfigSecured runs both installers over a configuration
// folder a user made first, with files in it: neither writes through a file
// left there, and the NSIS installer makes and secures the folder also when
// no setting is given. Wine keeps no security descriptors (its files'
// permissions are made up from the Unix mode) and its icacls is a stub:
// what the installers set is checked by TestWindowsNSISMachineConfigSDDL
// and TestWindowsMSIMachineConfigSecured.
func TestWineMachineConfigSecured(t *testing.T) {
	needTools(t, "makensis", "wixl")
	w := newWine(t)
	dir := t.TempDir()
	exe, _, _ := fakeExes(t, filepath.Join(dir, "win"), "v1")
	setup, msi := filepath.Join(dir, "setup.exe"), filepath.Join(dir, "iscdesk.msi")
	buildSetup(t, filepath.Dir(exe), setup, "1.0.0")
	buildMSI(t, filepath.Dir(exe), msi, "1.0.0")
	machineConfigScenario(t, w, setup, msi)
}

func machineConfigScenario(t *testing.T, w *wine, setup, msi string) {
	const confDir = `C:\ProgramData\iscdesk`
	cfgFile := w.c(confDir + `\config.json`)

	// NSIS, with a setting.
	theirs := plantConfigDir(t, w)
	inst := `C:\nsis-test`
	if code, out := w.run(2*time.Minute, setup, "/S", "/SERVER=https://nsis.example", "/D="+inst); code != 0 {
		t.Fatalf("setup /S /SERVER: exit %d\n%s\nlog:\n%s", code, out, w.tempLog("iscdesk-install.log"))
	}
	checkUntouched(t, "setup.exe", theirs)
	if cfg := readConfig(t, cfgFile); cfg["server"] != "https://nsis.example" || len(cfg) != 1 {
		t.Errorf("config.json = %v", cfg)
	}
	if log := w.tempLog("iscdesk-install.log"); !strings.Contains(log, `secured `+confDir+`: owner Administrators`) {
		t.Errorf("the install log does not say the folder was secured:\n%s", log)
	}
	if code, out := w.run(2*time.Minute, w.c(inst+`\uninstall.exe`), "/S", "_?="+inst); code != 0 {
		t.Errorf("uninstall: exit %d\n%s\n%s", code, out, w.tempLog("iscdesk-uninstall.log"))
	}
	if w.exists(w.c(confDir)) {
		t.Errorf("%s stays after the uninstall", confDir)
	}

	// NSIS without settings: the folder is made (and secured) all the
	// same, so that no user can make it first; no file.
	if code, out := w.run(2*time.Minute, setup, "/S", "/D="+inst); code != 0 {
		t.Fatalf("setup /S: exit %d\n%s\nlog:\n%s", code, out, w.tempLog("iscdesk-install.log"))
	}
	if !w.exists(w.c(confDir)) {
		t.Errorf("an install without settings did not make %s", confDir)
	}
	if w.exists(cfgFile) {
		t.Error("config.json written without settings")
	}
	if code, out := w.run(2*time.Minute, w.c(inst+`\uninstall.exe`), "/S", "_?="+inst); code != 0 {
		t.Errorf("uninstall: exit %d\n%s\n%s", code, out, w.tempLog("iscdesk-uninstall.log"))
	}
	if w.exists(w.c(confDir)) {
		t.Errorf("%s stays after the uninstall", confDir)
	}

	// MSI, with a setting.
	theirs = plantConfigDir(t, w)
	if code, out := w.run(2*time.Minute, "msiexec", "/i", winPath(msi), "/qn", `INSTALLDIR=C:\msi-test`, "SERVER=https://msi.example"); code != 0 {
		t.Fatalf("msiexec /i: exit %d\n%s", code, out)
	}
	checkUntouched(t, "the MSI", theirs)
	if cfg := readConfig(t, cfgFile); cfg["server"] != "https://msi.example" {
		t.Errorf("config.json = %v", cfg)
	}
	if code, out := w.run(2*time.Minute, "msiexec", "/x", winPath(msi), "/qn"); code != 0 {
		t.Errorf("msiexec /x: exit %d\n%s", code, out)
	}
}
