// Package clouddrive is the agent's default storage hook: a local folder
// acting as the user's cloud drive (it may itself be synchronised by a cloud
// client), where programs Save files and assemblies and from which
// OpenFile hands them back. It owns the drive's layout, the versions it
// keeps and assemblies saved as one unit; the copying itself is
// internal/filecopy's.
//
// Layout of the drive's root (everything of the drive's own starts with a dot,
// so List never shows it and a user's entry may not start with one):
//
//	<name>                              a saved file
//	<folder>/                           a saved assembly: the folder, its files
//	<folder>/.iscdesk-assembly.json     and the manifest naming its main file
//	.versions/<name>/<stamp>-<name>     previous versions, newest KeepVersions kept
//	.<name>.tmp-*  .<name>.staging-*    a save in progress (a file, an assembly)
//	.<name>.old-*                       an assembly being replaced
//
// Durability and atomicity: a save writes into a temporary file or staging
// folder in root (same file system, so the final rename is atomic), syncs it,
// verifies it and only then renames it into place, so the live name always
// holds a complete entry: the old one or the new one, never a mix.
//
// It must not import the agent (which uses it through its Storage hook), sdk
// or the GUI toolkit: the window imports it for File.
package clouddrive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/filecopy"
	"github.com/iscdesk/iscdesk/internal/safename"
)

// SaveRequest is one Save call.
type SaveRequest struct {
	Path     string // the main file, as the program wrote it to disk
	Assembly bool   // save the folder named like the main file, which holds it and every dependency
}

// SaveResult says what a Save stored.
type SaveResult struct {
	Name     string // the entry's name in the cloud drive
	Stored   string // where it now is (local path of the cloud drive entry)
	Bytes    int64  // bytes copied
	SHA256   string // hex SHA-256 of the file (of the main file for an assembly)
	Previous string // where the previous version was kept, "" when there was none
}

// File is an entry of the cloud drive, as List and Open return it and the
// window's file list shows it.
type File struct {
	Name     string    // file name, or folder name for an assembly
	Path     string    // local path of the main file to open
	Assembly bool      //
	Size     int64     // bytes (all files for an assembly)
	Modified time.Time //
}

// DefaultKeepVersions is how many previous versions of each entry a
// LocalFolder keeps unless told otherwise.
const DefaultKeepVersions = 5

const (
	// progressMinStep: progress is reported at most every 1% or every
	// progressMinStep bytes, whichever is coarser.
	progressMinStep = 64 << 20

	versionsDir  = ".versions"
	manifestName = ".iscdesk-assembly.json"
	// scratchMaxAge is how old a leftover temporary file or staging folder
	// (from a crash) must be before NewLocalFolder removes it; the margin
	// keeps a save of another process using the same root alive.
	scratchMaxAge = 24 * time.Hour
	// stampLayout names versions: UTC, fixed width, so that names sort in
	// time order.
	stampLayout = "20060102T150405.000000000Z"
)

// LocalFolderOptions tune a LocalFolder; the zero value gives the defaults.
type LocalFolderOptions struct {
	// KeepVersions is how many previous versions of each entry are kept
	// under .versions: 0 means DefaultKeepVersions, a negative number none.
	KeepVersions int
	// ReadBack re-reads every saved file from the disk after it is synced
	// (Linux drops it from the page cache first) and compares its SHA-256
	// with the one computed while copying. It catches a disk or file system
	// that loses writes without reporting it, at the price of reading
	// everything a second time; see LocalFolder for what is verified without
	// it.
	ReadBack bool
}

// LocalFolder is the cloud drive kept in a folder of this machine (see the
// package documentation for its layout).
//
// Copy and verification are internal/filecopy's (see filecopy.Copier): each
// file is copied by the kernel where it can, hashed as it is stored, synced,
// and checked against a source that changed meanwhile (filecopy.ErrChanged);
// reading the copy back from the disk rather than the page cache is
// LocalFolderOptions.ReadBack.
//
// A LocalFolder is safe for concurrent use.
type LocalFolder struct {
	root     string
	keep     int
	readBack bool
	// afterWrite, when set (tests), is called with each copy once it is
	// written and synced, before it is read back: a test corrupts it there,
	// as a disk that loses writes would.
	afterWrite func(*os.File)
	// commit serialises the final renames and version bookkeeping of
	// concurrent saves; the copies themselves run in parallel.
	commit sync.Mutex
}

// NewLocalFolder opens (creating it 0700 if missing) the cloud drive folder
// root with the default options.
func NewLocalFolder(root string) (*LocalFolder, error) {
	return NewLocalFolderWith(root, LocalFolderOptions{})
}

// NewLocalFolderWith opens (creating it 0700 if missing) the cloud drive
// folder root with opts. It removes temporary files and staging folders that
// a crash left behind more than a day ago.
func NewLocalFolderWith(root string, opts LocalFolderOptions) (*LocalFolder, error) {
	if root == "" {
		return nil, errors.New("cloud drive: no folder given")
	}
	// Paths handed to programs (Stored, File.Path) must not depend on
	// the agent's working directory.
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("cloud drive: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("cloud drive: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("cloud drive: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("cloud drive: %s is not a folder", abs)
	}
	keep := opts.KeepVersions
	if keep == 0 {
		keep = DefaultKeepVersions
	}
	s := &LocalFolder{root: abs, keep: keep, readBack: opts.ReadBack}
	s.removeStaleScratch(time.Now().Add(-scratchMaxAge))
	return s, nil
}

// Root returns the drive's folder.
func (s *LocalFolder) Root() string { return s.root }

// Save stores the file at req.Path as <root>/<its name>, or with
// req.Assembly the folder holding it as <root>/<folder name>. The previous
// version, if any, moves under .versions. progress is called on the calling
// goroutine.
//
// Its errors carry their kind (internal/errs; see withKind).
func (s *LocalFolder) Save(ctx context.Context, req SaveRequest, progress func(done, total int64)) (SaveResult, error) {
	res, err := s.save(ctx, req, progress)
	return res, withKind(err)
}

func (s *LocalFolder) save(ctx context.Context, req SaveRequest, progress func(done, total int64)) (SaveResult, error) {
	if req.Path == "" {
		return SaveResult{}, ErrNoPath
	}
	if err := ctx.Err(); err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", req.Path, err)
	}
	src, err := filepath.Abs(req.Path)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", req.Path, err)
	}
	if req.Assembly {
		return s.saveAssembly(ctx, src, progress)
	}
	return s.saveFile(ctx, src, progress)
}

func (s *LocalFolder) saveFile(ctx context.Context, src string, progress func(done, total int64)) (SaveResult, error) {
	name := filepath.Base(src)
	if err := checkName(name); err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	// Stat follows symbolic links: the program may reach its file through
	// one, and what it wrote is the file the link leads to. Checking before
	// opening keeps a FIFO from blocking the open.
	fi, err := os.Stat(src)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save: %w", err)
	}
	if fi.IsDir() {
		return SaveResult{}, fmt.Errorf("save %s: %w: save a folder as an assembly, naming its main file", src, ErrIsFolder)
	}
	if err := filecopy.Regular(fi); err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	live := filepath.Join(s.root, name)
	if lfi, err := os.Lstat(live); err == nil && !lfi.Mode().IsRegular() {
		return SaveResult{}, fmt.Errorf("save %s: %w: %s", src, ErrNameTaken, name)
	}

	tmp, err := os.CreateTemp(s.root, "."+name+".tmp-*")
	if err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	meter := filecopy.NewMeter(progress, fi.Size(), progressMinStep)
	sum, err := s.copyVerified(ctx, filecopy.NewCopier(fi.Size()), src, fi, tmp, meter)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	if err := tmp.Close(); err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	meter.Finish()
	prev, err := s.commitFile(tmp.Name(), live, name)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save %s: %w", src, err)
	}
	committed = true
	return SaveResult{Name: name, Stored: live, Bytes: sum.Size, SHA256: sum.Hex(), Previous: prev}, nil
}

// commitFile renames the verified temporary file tmp to live, first keeping
// the current live file as a version.
func (s *LocalFolder) commitFile(tmp, live, name string) (prev string, err error) {
	s.commit.Lock()
	defer s.commit.Unlock()
	movedAside := false
	if s.keep > 0 {
		switch _, err := os.Lstat(live); {
		case err == nil:
			if prev, err = s.newVersionPath(name); err != nil {
				return "", err
			}
			// A hard link keeps the old content while live still names it,
			// so the rename below replaces live atomically and a reader
			// never finds it missing.
			if err := os.Link(live, prev); err != nil {
				// No hard links on this file system: move it aside; the
				// name is missing for the moment between two renames.
				if err := os.Rename(live, prev); err != nil {
					return "", err
				}
				movedAside = true
			}
		case !errors.Is(err, fs.ErrNotExist):
			return "", err
		}
	}
	if err := filecopy.Commit(tmp, live); err != nil {
		if prev != "" {
			if movedAside {
				_ = os.Rename(prev, live)
			} else {
				_ = os.Remove(prev)
			}
		}
		return "", err
	}
	if prev != "" {
		filecopy.SyncDir(filepath.Dir(prev))
		s.pruneVersions(name)
	}
	return prev, nil
}

// copyVerified copies src into dst (see filecopy.Copier.Copy) and, with
// ReadBack, reads the copy back from the disk to compare.
func (s *LocalFolder) copyVerified(ctx context.Context, c *filecopy.Copier, src string, fi fs.FileInfo, dst *os.File, meter *filecopy.Meter) (filecopy.Sum, error) {
	sum, err := c.Copy(ctx, src, fi, dst, meter)
	if err != nil {
		return sum, err
	}
	if s.afterWrite != nil {
		s.afterWrite(dst)
	}
	if !s.readBack {
		return sum, nil
	}
	return sum, c.ReadBack(dst, sum)
}

// newVersionPath returns an unused .versions/<name>/<stamp>-<name> path,
// creating the folder.
func (s *LocalFolder) newVersionPath(name string) (string, error) {
	dir := filepath.Join(s.root, versionsDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	t := time.Now()
	for {
		p := filepath.Join(dir, stamp(t)+"-"+name)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", err
		}
		t = t.Add(time.Nanosecond) // two saves within the clock's resolution
	}
}

// pruneVersions removes all but the newest s.keep versions of name. A
// failure only leaves an extra version behind, so it is not reported.
func (s *LocalFolder) pruneVersions(name string) {
	dir := filepath.Join(s.root, versionsDir, name)
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var versions []string
	for _, de := range des {
		if isVersionName(de.Name(), name) {
			versions = append(versions, de.Name())
		}
	}
	slices.Sort(versions) // stamps sort in time order
	for len(versions) > s.keep {
		os.RemoveAll(filepath.Join(dir, versions[0]))
		versions = versions[1:]
	}
}

func isVersionName(v, name string) bool {
	st, ok := strings.CutSuffix(v, "-"+name)
	if !ok {
		return false
	}
	_, err := time.Parse(stampLayout, st)
	return err == nil
}

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

// List returns the drive's files and assemblies, newest first (by the time
// they were saved).
func (s *LocalFolder) List(ctx context.Context) ([]File, error) {
	des, err := os.ReadDir(s.root)
	if err != nil {
		return nil, withKind(fmt.Errorf("list cloud drive: %w", err))
	}
	files := make([]File, 0, len(des))
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, withKind(fmt.Errorf("list cloud drive: %w", err))
		}
		if strings.HasPrefix(de.Name(), ".") {
			continue // the drive's own bookkeeping (and hidden files of the OS)
		}
		f, err := s.entry(de.Name())
		if err != nil {
			continue // not an entry the drive understands, or gone meanwhile
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int {
		if c := b.Modified.Compare(a.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return files, nil
}

// Open resolves the entry name (a file, or an assembly's folder) to the file
// to open. name must be a plain name as List returns it. A missing entry is
// an error of kind NotExist.
func (s *LocalFolder) Open(ctx context.Context, name string) (File, error) {
	f, err := s.open(ctx, name)
	return f, withKind(err)
}

func (s *LocalFolder) open(ctx context.Context, name string) (File, error) {
	if err := ctx.Err(); err != nil {
		return File{}, fmt.Errorf("open %q: %w", name, err)
	}
	if err := checkName(name); err != nil {
		return File{}, fmt.Errorf("open %q: %w", name, err)
	}
	f, err := s.entry(name)
	if err != nil {
		return File{}, fmt.Errorf("open %q: %w", name, err)
	}
	return f, nil
}

// entry describes the drive entry name (already checked by checkName or
// read from the root).
func (s *LocalFolder) entry(name string) (File, error) {
	p := filepath.Join(s.root, name)
	fi, err := os.Lstat(p)
	if err != nil {
		return File{}, err
	}
	switch {
	case fi.Mode().IsRegular():
		return File{Name: name, Path: p, Size: fi.Size(), Modified: fi.ModTime()}, nil
	case fi.IsDir():
		main, size, saved, err := readAssembly(p)
		if err != nil {
			return File{}, err
		}
		return File{Name: name, Path: filepath.Join(p, main), Assembly: true, Size: size, Modified: saved}, nil
	default:
		return File{}, filecopy.Regular(fi)
	}
}

// checkName accepts a plain entry name: no path separators, not "." or
// "..", not a name reserved by the OS, and not starting with a dot, which
// the drive keeps for its own files.
func checkName(name string) error {
	if err := safename.Check(name); err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadName, name, err)
	}
	return nil
}

// removeStaleScratch removes what saves that never finished (the process was
// killed) left in root before cutoff.
func (s *LocalFolder) removeStaleScratch(cutoff time.Time) {
	des, err := os.ReadDir(s.root)
	if err != nil {
		return
	}
	for _, de := range des {
		n := de.Name()
		if !strings.HasPrefix(n, ".") || !(strings.Contains(n, ".tmp-") || strings.Contains(n, ".staging-") || strings.Contains(n, ".old-")) {
			continue
		}
		if fi, err := de.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.RemoveAll(filepath.Join(s.root, n))
		}
	}
}
