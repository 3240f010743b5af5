package installer

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// Default caps on what one package may unpack to. They stop a hostile or
// broken archive (a zip bomb) from filling the disk, and are far above what
// real vendor suites ship.
const (
	DefaultMaxUnpackedBytes = 32 << 30 // 32 GiB
	DefaultMaxEntries       = 1_000_000
	// DefaultScriptTimeout bounds one install or uninstall script: large
	// engineering suites take minutes, never hours.
	DefaultScriptTimeout = time.Hour
)

// Manager installs, uninstalls and lists vendor packages for one user. Its
// zero value is not usable: set Root and AppsDir (see DefaultRoot and
// DefaultAppsDir). A Manager holds no state between calls, so several
// processes (the desktop app and the CLI) may use the same Root: they take
// turns through a lock file there.
type Manager struct {
	// Root is the folder of the records: apps.json, the kept package
	// folders (packages/), the script logs (logs/).
	Root string
	// AppsDir is where a package is installed when no folder is given:
	// AppsDir/<name>.
	AppsDir string
	// CacheDir holds downloads while they are incomplete, so that an
	// interrupted download resumes; "" means Root/downloads.
	CacheDir string
	// ScriptTimeout bounds each install or uninstall script; 0 means
	// DefaultScriptTimeout.
	ScriptTimeout time.Duration
	// Proxy is the proxy URL for downloads; "" means the environment's
	// HTTPS_PROXY / NO_PROXY. Loopback addresses never use a proxy.
	Proxy string
	// ExtraRootCAs are trusted for HTTPS downloads in addition to the
	// system's roots: a private company CA, or a test server's certificate.
	ExtraRootCAs []*x509.Certificate
	// MaxUnpackedBytes and MaxEntries cap one package; 0 means the defaults.
	MaxUnpackedBytes int64
	MaxEntries       int
}

// InstallOptions are the choices of one install.
type InstallOptions struct {
	// Dir is the target folder; "" means the folder of an earlier install
	// of the same package, else AppsDir/<name>.
	Dir string
	// SHA256 is the expected SHA-256 of the package file in hex; "" skips
	// the check.
	SHA256 string
	// Progress, if set, is called from the installing goroutine as the
	// work advances.
	Progress func(Progress)
}

// Phase names a step of an install or uninstall.
type Phase string

// The phases, in the order an install goes through them.
const (
	PhaseDownload  Phase = "download"  // bytes of the package file received
	PhaseVerify    Phase = "verify"    // bytes hashed for the SHA-256 check
	PhaseUnpack    Phase = "unpack"    // bytes of the package file unpacked
	PhaseInstall   Phase = "install"   // the vendor's install script runs
	PhaseUninstall Phase = "uninstall" // the vendor's uninstall script runs
)

// Progress reports how far a phase is. Done and Total count bytes of the
// package file; Total is -1 when unknown and 0 for the script phases, whose
// progress is not measurable from outside.
type Progress struct {
	Phase       Phase
	Done, Total int64
}

// Percent is Done as a whole percentage of Total, or -1 when Total is not
// known.
func (p Progress) Percent() int {
	if p.Total <= 0 {
		return -1
	}
	return int(min(100, p.Done*100/p.Total))
}

// State is where an installed package stands.
type State string

const (
	// StateInstalled: the install script succeeded.
	StateInstalled State = "installed"
	// StateUninstallFailed: the uninstall script failed; the record stays
	// so that the user can retry (or Forget it).
	StateUninstallFailed State = "uninstall_failed"
)

// Installed is the record of one installed package.
type Installed struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"` // "" when the package has no software.json
	Dir         string    `json:"dir"`     // the target folder given to the scripts
	InstalledAt time.Time `json:"installed_at"`
	// Source is where the package came from: a local path, or a URL
	// without its query and user information (which may hold tokens).
	Source string `json:"source"`
	SHA256 string `json:"sha256,omitempty"` // when checked at install
	State  State  `json:"state"`
	// Error is why the last uninstall failed.
	Error string `json:"error,omitempty"`
	// Log is the log file of the last script run.
	Log string `json:"log,omitempty"`
	// Package is the kept package folder (its scripts and what else the
	// install script left), relative to Root, slash-separated.
	Package string `json:"package"`
}

// records is the content of apps.json.
type records struct {
	Apps []Installed `json:"apps"`
}

const (
	recordsFile = "apps.json"
	stagingFile = "staging.json" // journal of the staging folders in use
	lockName    = ".lock"
	stagePrefix = ".iscdesk-stage-"
	// partialMaxAge is how long an abandoned partial download is kept for
	// a resume before a later install deletes it.
	partialMaxAge = 7 * 24 * time.Hour
)

// DefaultRoot is the records folder of the current user: the iscdesk folder
// in the user's configuration folder, beside config.json.
func DefaultRoot() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iscdesk"), nil
}

// DefaultCacheDir is where downloads wait until complete: the user's cache
// folder, which the OS may clean.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iscdesk", "downloads"), nil
}

// List returns the installed packages sorted by name.
func (m *Manager) List() ([]Installed, error) {
	r, err := m.loadRecords()
	if err != nil {
		return nil, err
	}
	return r.Apps, nil
}

// Install installs the package at source, a local path or a URL, and
// records it. It may be run again after any interruption: staging folders
// are per attempt and removed by the next call, downloads resume, and the
// record is written only once the install script has succeeded. Installing
// a package whose name is already installed runs its install script over
// the existing folder (an overwrite install, which the published rules ask
// vendor scripts to support) and replaces the record.
func (m *Manager) Install(ctx context.Context, source string, opts InstallOptions) (Installed, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	wantSum, err := download.ParseSHA256(opts.SHA256)
	if err != nil {
		return Installed{}, err
	}
	if err := m.check(); err != nil {
		return Installed{}, err
	}
	remote, err := parseSource(source)
	if err != nil {
		return Installed{}, err
	}
	dir := opts.Dir
	if dir != "" {
		if dir, err = filepath.Abs(dir); err != nil {
			return Installed{}, errs.Errorf("", errs.Invalid, "--dir %s: %v", opts.Dir, err)
		}
		if err := m.checkTarget(dir); err != nil {
			return Installed{}, err
		}
	}

	unlock, err := m.lock(ctx)
	if err != nil {
		return Installed{}, err
	}
	defer unlock()
	m.cleanStale()

	var archive, archiveName, recordedSource string
	if remote != nil {
		dl, err := m.downloader()
		if err != nil {
			return Installed{}, err
		}
		defer dl.Close()
		archive, err = dl.Fetch(ctx, source, download.Options{SHA256: opts.SHA256, MaxBytes: m.maxBytes(), Progress: downloadProgress(progress)})
		if err != nil {
			return Installed{}, err
		}
		archiveName = download.BaseName(remote)
		recordedSource = download.Redact(remote)
	} else {
		if archive, err = filepath.Abs(source); err != nil {
			return Installed{}, err
		}
		if st, err := os.Stat(archive); err != nil {
			return Installed{}, err
		} else if !st.Mode().IsRegular() {
			return Installed{}, errs.Errorf("", errs.Invalid, "%s is not a file", source)
		}
		archiveName = filepath.Base(archive)
		recordedSource = archive
		if err := download.VerifySHA256(ctx, archive, opts.SHA256, downloadProgress(progress)); err != nil {
			return Installed{}, err
		}
	}

	rec, err := m.installArchive(ctx, archive, archiveName, dir, progress)
	if err != nil {
		if remote != nil && (errors.Is(err, ErrBadPackage) || errors.Is(err, ErrUnsafeArchive) || errors.Is(err, ErrTooLarge)) {
			download.Remove(archive)
		}
		return Installed{}, err
	}
	if remote != nil {
		download.Remove(archive)
	}
	rec.Source = recordedSource
	if wantSum != nil {
		rec.SHA256 = hex.EncodeToString(wantSum)
	}
	if err := m.saveInstalled(rec); err != nil {
		return Installed{}, err
	}
	return rec, nil
}

// installArchive unpacks archive into a staging folder, runs its install
// script and keeps the package folder. It returns the record to write.
func (m *Manager) installArchive(ctx context.Context, archive, archiveName, dir string, progress func(Progress)) (Installed, error) {
	format, err := detectFormat(archive)
	if err != nil {
		return Installed{}, err
	}
	prev, err := m.loadRecords()
	if err != nil {
		return Installed{}, err
	}
	// The staging folder sits next to the target so that a vendor script
	// can move its payload into place (a rename) instead of copying it.
	// Before the package is unpacked its name, and so the default target,
	// is unknown: AppsDir is then the target's parent.
	stageParent := m.AppsDir
	if dir != "" {
		stageParent = filepath.Dir(dir)
	}
	stage, err := m.newStaging(stageParent)
	if err != nil {
		return Installed{}, err
	}
	defer m.removeStaging(stage)

	u := unpacker{maxBytes: m.maxBytes(), maxEntries: m.maxEntries(), progress: progress}
	if err := u.unpack(ctx, archive, format, stage); err != nil {
		return Installed{}, err
	}
	pkg, err := inspectPackage(stage, archiveName)
	if err != nil {
		return Installed{}, err
	}
	if dir == "" {
		if i := prev.find(pkg.name); i >= 0 {
			dir = prev.Apps[i].Dir
		} else if dir, err = filepath.Abs(filepath.Join(m.AppsDir, pkg.name)); err != nil {
			return Installed{}, err
		}
		if err := m.checkTarget(dir); err != nil {
			return Installed{}, err
		}
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Installed{}, err
	}

	progress(Progress{Phase: PhaseInstall})
	now := time.Now()
	logPath := m.logPath(pkg.name, "install", now)
	if err := m.runScript(ctx, pkg, installScript, dir, logPath); err != nil {
		if created {
			_ = os.Remove(dir) // only if the script left it empty
		}
		return Installed{}, err
	}
	kept, err := m.keepPackage(pkg.dir, pkg.name)
	if err != nil {
		return Installed{}, err
	}
	return Installed{
		Name: pkg.name, Version: pkg.version, Dir: dir, InstalledAt: now.UTC().Truncate(time.Second),
		State: StateInstalled, Log: logPath, Package: kept,
	}, nil
}

// Uninstall runs the recorded package's uninstall script with its target
// folder and then forgets the package.
//
// The vendor script owns the files it installed; this client never deletes
// inside the target folder itself (it only removes the folder when the
// script left it empty). When the script fails, the steps that would make a
// retry impossible are skipped: the record and the kept scripts stay, the
// record is marked StateUninstallFailed with the reason, and the returned
// *ScriptError names the log. Running Uninstall again retries; Forget drops
// a record whose script can never succeed. When the script succeeds, every
// remaining step runs even if one fails, and the error joins all failures.
func (m *Manager) Uninstall(ctx context.Context, name string, progress func(Progress)) error {
	if progress == nil {
		progress = func(Progress) {}
	}
	rec, unlock, err := m.lockedRecord(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	pkg := packageDir{dir: filepath.Join(m.Root, filepath.FromSlash(rec.Package)), name: rec.Name, version: rec.Version}

	progress(Progress{Phase: PhaseUninstall})
	logPath := m.logPath(rec.Name, "uninstall", time.Now())
	scriptErr := m.runScript(ctx, pkg, uninstallScript, rec.Dir, logPath)
	// A folder the script emptied but left behind is ours to tidy; a folder
	// with files in it is the vendor's business.
	_ = os.Remove(rec.Dir)
	if scriptErr != nil {
		rec.State, rec.Error, rec.Log = StateUninstallFailed, scriptErr.Error(), logPath
		return errors.Join(scriptErr, m.updateRecords(func(r *records) { r.put(rec) }))
	}
	errRecord := m.updateRecords(func(r *records) { r.remove(rec.Name) })
	errPackage := os.RemoveAll(pkg.dir)
	return errors.Join(errRecord, errPackage)
}

// Forget drops the record of a package without running any script, and
// deletes its kept package folder: for a package whose uninstall script can
// never succeed. The installed files stay where they are.
func (m *Manager) Forget(ctx context.Context, name string) error {
	rec, unlock, err := m.lockedRecord(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	errRecord := m.updateRecords(func(r *records) { r.remove(rec.Name) })
	return errors.Join(errRecord, os.RemoveAll(filepath.Join(m.Root, filepath.FromSlash(rec.Package))))
}

func (m *Manager) check() error {
	if m.Root == "" || m.AppsDir == "" {
		return errs.Errorf("", errs.Invalid, "installer.Manager needs Root and AppsDir")
	}
	return nil
}

// checkTarget refuses target folders that an uninstall script's usual
// `rm -rf "$1"` would turn into a disaster: a filesystem root, the home
// folder, or a folder holding (or inside) the records.
func (m *Manager) checkTarget(dir string) error {
	dir = filepath.Clean(dir)
	if filepath.Dir(dir) == dir {
		return errs.Errorf("", errs.Invalid, "%s is the root of a filesystem", dir)
	}
	if home, err := os.UserHomeDir(); err == nil && sameDir(dir, home) {
		return errs.Errorf("", errs.Invalid, "%s is the home folder: install into a folder of its own", dir)
	}
	root, err := filepath.Abs(m.Root)
	if err != nil {
		return err
	}
	if within(dir, root) || within(root, dir) {
		return errs.Errorf("", errs.Invalid, "%s overlaps the records folder %s", dir, root)
	}
	return nil
}

// within reports whether path is dir or below it (lexically).
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func (m *Manager) maxBytes() int64 {
	if m.MaxUnpackedBytes > 0 {
		return m.MaxUnpackedBytes
	}
	return DefaultMaxUnpackedBytes
}

func (m *Manager) maxEntries() int {
	if m.MaxEntries > 0 {
		return m.MaxEntries
	}
	return DefaultMaxEntries
}

func (m *Manager) scriptTimeout() time.Duration {
	if m.ScriptTimeout > 0 {
		return m.ScriptTimeout
	}
	return DefaultScriptTimeout
}

func (m *Manager) cacheDir() string {
	if m.CacheDir != "" {
		return m.CacheDir
	}
	return filepath.Join(m.Root, "downloads")
}

// lock serializes installs and uninstalls across processes sharing Root.
// The OS drops the lock when its holder dies, so a killed install never
// blocks the next one.
func (m *Manager) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(m.Root, 0o700); err != nil {
		return nil, err
	}
	return lockFile(ctx, filepath.Join(m.Root, lockName))
}

// cleanStale removes what interrupted attempts left: staging folders named
// in the journal, kept package folders no record refers to, and partial
// downloads abandoned long ago. It runs under the lock, so nothing it
// removes is in use. Failures are ignored: the next call tries again.
func (m *Manager) cleanStale() {
	if journal := m.readJournal(); len(journal) > 0 {
		var left []string
		for _, dir := range journal {
			// Only ever remove folders this code named: a damaged journal
			// must not become an rm -rf of something else.
			if !strings.HasPrefix(filepath.Base(dir), stagePrefix) {
				continue
			}
			if err := os.RemoveAll(dir); err != nil {
				left = append(left, dir)
			}
		}
		_ = m.writeJournal(left)
	}

	if r, err := m.loadRecords(); err == nil {
		entries, _ := os.ReadDir(filepath.Join(m.Root, "packages"))
		for _, e := range entries {
			rel := "packages/" + e.Name()
			if !slices.ContainsFunc(r.Apps, func(a Installed) bool { return a.Package == rel }) {
				_ = os.RemoveAll(filepath.Join(m.Root, "packages", e.Name()))
			}
		}
	}

	download.Prune(m.cacheDir(), partialMaxAge)
}

// newStaging creates a fresh staging folder in parent, journaled before it
// exists so that a kill at any point leaves nothing the next call cannot
// find. If parent cannot take it (no permission), it falls back to the
// records folder.
func (m *Manager) newStaging(parent string) (string, error) {
	dir, err := m.makeStaging(parent)
	if err != nil {
		var err2 error
		if dir, err2 = m.makeStaging(filepath.Join(m.Root, "staging")); err2 != nil {
			return "", fmt.Errorf("creating a staging folder: %w", err)
		}
	}
	return dir, nil
}

func (m *Manager) makeStaging(parent string) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, stagePrefix+randomHex(8))
	if err := m.writeJournal(append(m.readJournal(), dir)); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		m.forgetStaging(dir)
		return "", err
	}
	return dir, nil
}

func (m *Manager) removeStaging(dir string) {
	if os.RemoveAll(dir) == nil {
		m.forgetStaging(dir)
	}
}

func (m *Manager) forgetStaging(dir string) {
	_ = m.writeJournal(slices.DeleteFunc(m.readJournal(), func(d string) bool { return d == dir }))
}

func (m *Manager) readJournal() []string {
	var dirs []string
	if b, err := os.ReadFile(filepath.Join(m.Root, stagingFile)); err == nil {
		_ = json.Unmarshal(b, &dirs)
	}
	return dirs
}

func (m *Manager) writeJournal(dirs []string) error {
	if dirs == nil {
		dirs = []string{}
	}
	b, _ := json.Marshal(dirs)
	return atomicfile.Write(filepath.Join(m.Root, stagingFile), b, 0o600)
}

// keepPackage moves the unpacked package folder into the records folder,
// under a name unique to this install, so that the uninstall script is
// there later. The record switches to the new folder in one atomic write;
// cleanStale removes a folder a kill left unreferenced.
func (m *Manager) keepPackage(dir, name string) (string, error) {
	rel := "packages/" + name + "-" + randomHex(4)
	dst := filepath.Join(m.Root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(dir, dst); err != nil {
		// Another filesystem: copy instead.
		if err := copyTree(dir, dst); err != nil {
			os.RemoveAll(dst)
			return "", fmt.Errorf("keeping the package's scripts: %w", err)
		}
	}
	return rel, nil
}

// saveInstalled writes rec and removes the package folder of the record it
// replaces.
func (m *Manager) saveInstalled(rec Installed) error {
	var old string
	err := m.updateRecords(func(r *records) {
		if i := r.find(rec.Name); i >= 0 {
			old = r.Apps[i].Package
		}
		r.put(rec)
	})
	if err != nil {
		return err
	}
	if old != "" && old != rec.Package {
		_ = os.RemoveAll(filepath.Join(m.Root, filepath.FromSlash(old)))
	}
	return nil
}

func (m *Manager) loadRecords() (records, error) {
	var r records
	b, err := os.ReadFile(filepath.Join(m.Root, recordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: damaged: %v", filepath.Join(m.Root, recordsFile), err)
	}
	slices.SortFunc(r.Apps, func(a, b Installed) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return r, nil
}

// updateRecords applies change to the records and writes them atomically.
// Callers hold the lock.
func (m *Manager) updateRecords(change func(*records)) error {
	r, err := m.loadRecords()
	if err != nil {
		return err
	}
	change(&r)
	if r.Apps == nil {
		r.Apps = []Installed{}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(m.Root, recordsFile), append(b, '\n'), 0o600)
}

// find returns the index of the package named name, or -1. Names compare
// without case: they name folders, and Windows and macOS folders do.
func (r *records) find(name string) int {
	return slices.IndexFunc(r.Apps, func(a Installed) bool { return strings.EqualFold(a.Name, name) })
}

func (r *records) put(rec Installed) {
	if i := r.find(rec.Name); i >= 0 {
		r.Apps[i] = rec
		return
	}
	r.Apps = append(r.Apps, rec)
}

func (r *records) remove(name string) {
	r.Apps = slices.DeleteFunc(r.Apps, func(a Installed) bool { return strings.EqualFold(a.Name, name) })
}

func (m *Manager) logPath(name, action string, t time.Time) string {
	return filepath.Join(m.Root, "logs", fmt.Sprintf("%s-%s-%s.log", name, action, t.UTC().Format("20060102T150405.000Z")))
}

// progressReader counts the bytes read through it and stops on
// cancellation, so that long copies can be interrupted. It reports progress
// about every megabyte from Read, or, when another goroutine reads it (see
// readAhead), from the consumer through maybeReport.
type progressReader struct {
	ctx      context.Context
	r        io.Reader
	phase    Phase
	total    int64
	progress func(Progress)
	// quiet leaves reporting to maybeReport.
	quiet bool

	done     atomic.Int64
	reported int64 // touched only by the reporting goroutine
}

const progressStep = 1 << 20

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.done.Add(int64(n))
	if !p.quiet {
		p.maybeReport()
	}
	return n, err
}

func (p *progressReader) maybeReport() {
	if p.done.Load()-p.reported >= progressStep {
		p.report()
	}
}

func (p *progressReader) report() {
	p.reported = p.done.Load()
	p.progress(Progress{Phase: p.phase, Done: p.reported, Total: p.total})
}

// reportingReader reports a quiet progressReader's count as its consumer
// reads.
type reportingReader struct {
	r  io.Reader
	pr *progressReader
}

func (r reportingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.pr.maybeReport()
	return n, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// copyTree copies the folder src to dst (which must not exist), keeping
// modes and symbolic links.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		default:
			return nil
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lockedRecord takes the install lock and returns the record of name; the
// caller releases the lock with unlock.
func (m *Manager) lockedRecord(ctx context.Context, name string) (Installed, func(), error) {
	if err := m.check(); err != nil {
		return Installed{}, nil, err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return Installed{}, nil, err
	}
	r, err := m.loadRecords()
	if err != nil {
		unlock()
		return Installed{}, nil, err
	}
	i := r.find(name)
	if i < 0 {
		unlock()
		return Installed{}, nil, fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	return r.Apps[i], unlock, nil
}
