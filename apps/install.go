package apps

import (
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
)

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

// Install installs the package at source, a local path or a URL, and
// records it. It may be run again after any interruption: staging folders
// are per attempt and removed by the next call, downloads resume, and the
// record is written only once the install script has succeeded. Installing
// a package whose name is already installed runs its install script over
// the existing folder (an overwrite install, which the published rules ask
// vendor scripts to support) and replaces the record.
func (m *Manager) Install(ctx context.Context, source string, opts InstallOptions) (_ Installed, err error) {
	defer func() { err = failed(opInstall, err) }()
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
		recordedSource = netutil.Redact(remote)
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

// parseSource returns the URL of a remote source, or nil for a local path.
// The download package's rules apply to a URL: HTTPS, or plain HTTP to
// this machine, since a package runs code with the user's rights.
func parseSource(source string) (*url.URL, error) {
	if source == "" {
		return nil, errs.Errorf("", errs.Invalid, "no package given")
	}
	if !strings.Contains(source, "://") {
		return nil, nil
	}
	return download.ParseURL(source)
}

// downloader is the download client of one install: the Manager's cache
// folder, proxy and extra roots.
func (m *Manager) downloader() (*download.Client, error) {
	return download.New(download.Config{CacheDir: m.cacheDir(), Proxy: m.Proxy, RootCAs: m.ExtraRootCAs})
}
