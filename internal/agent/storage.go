package agent

import (
	"context"
	"encoding/json"
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

// The default storage hook: a local folder acting as the user's cloud drive.
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
	// stampLayout names versions and solver results: UTC, fixed width, so
	// that names sort in time order.
	stampLayout = "20060102T150405.000000000Z"
)

// Errors of the storage hook; a returned error wraps one of these, one of
// filecopy's (ErrNotRegular, ErrChanged, ErrVerify) or fs.ErrNotExist for a
// missing file, and says which path it is about.
var (
	ErrIsFolder    = errors.New("is a folder")
	ErrNotAssembly = errors.New("not an assembly: an assembly is the folder named like its main file without the extension (gearbox/gearbox.asm), holding it and every dependency")
	ErrLinkEscapes = errors.New("symbolic link points outside the assembly")
	ErrBadName     = errors.New("invalid cloud drive name")
	ErrNameTaken   = errors.New("the cloud drive already holds an entry of this name of the other kind (file or assembly)")
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

// LocalFolder is the default Storage: a folder on this machine acting as the
// user's cloud drive (it may itself be synchronised by a cloud client).
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
	// written and synced, before it is read back.
	afterWrite func(*os.File)
	// commit serialises the final renames and version bookkeeping of
	// concurrent saves; the copies themselves run in parallel.
	commit sync.Mutex
}

var _ Storage = (*LocalFolder)(nil)

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
	// Paths handed to programs (Stored, CloudFile.Path) must not depend on
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
func (s *LocalFolder) Save(ctx context.Context, req SaveRequest, progress func(done, total int64)) (SaveResult, error) {
	if req.Path == "" {
		return SaveResult{}, errors.New("save: no path given")
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

// An assembly is the folder named like its main file without the extension
// (gearbox/gearbox.asm); a folder named like the whole file name
// (gearbox.asm/gearbox.asm) is accepted too, since the published SDK says "a
// folder whose name equals the main file's name". Case is ignored, for the
// file systems of Windows and macOS.
func assemblyFolder(mainFile string) (dir, name string, err error) {
	dir = filepath.Dir(mainFile)
	name = filepath.Base(dir)
	file := filepath.Base(mainFile)
	stem := strings.TrimSuffix(file, filepath.Ext(file))
	if !strings.EqualFold(name, stem) && !strings.EqualFold(name, file) {
		return "", "", fmt.Errorf("%w; %s is in folder %q", ErrNotAssembly, file, name)
	}
	if err := checkName(name); err != nil {
		return "", "", err
	}
	return dir, name, nil
}

// An assemblyEntry is one thing to copy: a folder, a regular file or a
// symbolic link that stays inside the assembly.
type assemblyEntry struct {
	rel  string      // path relative to the assembly folder
	info fs.FileInfo // from Lstat
	link string      // for a link: the target to recreate, relative to the link's folder
}

// assemblyManifest is stored in the assembly folder: it names the main file
// (several files may be named like the folder) and records what was saved.
type assemblyManifest struct {
	Main  string         `json:"main"`
	Saved time.Time      `json:"saved"`
	Size  int64          `json:"size"`
	Files []manifestFile `json:"files"`
}

type manifestFile struct {
	Path   string `json:"path"` // slash-separated, relative to the assembly folder
	Dir    bool   `json:"dir,omitempty"`
	Link   string `json:"link,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

func (s *LocalFolder) saveAssembly(ctx context.Context, mainFile string, progress func(done, total int64)) (SaveResult, error) {
	fail := func(err error) (SaveResult, error) {
		return SaveResult{}, fmt.Errorf("save assembly %s: %w", mainFile, err)
	}
	mfi, err := os.Lstat(mainFile)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save assembly: %w", err)
	}
	if mfi.IsDir() {
		return fail(fmt.Errorf("%w: name the assembly's main file, not its folder", ErrIsFolder))
	}
	if err := filecopy.Regular(mfi); err != nil {
		return fail(fmt.Errorf("main file: %w", err))
	}
	dir, name, err := assemblyFolder(mainFile)
	if err != nil {
		return fail(err)
	}
	entries, total, largest, err := s.planAssembly(ctx, dir)
	if err != nil {
		return fail(err)
	}
	live := filepath.Join(s.root, name)
	if lfi, err := os.Lstat(live); err == nil && !lfi.IsDir() {
		return fail(fmt.Errorf("%w: %s", ErrNameTaken, name))
	}

	staging, err := os.MkdirTemp(s.root, "."+name+".staging-*")
	if err != nil {
		return fail(err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staging)
		}
	}()
	meter := filecopy.NewMeter(progress, total, progressMinStep)
	c := filecopy.NewCopier(largest)
	man := assemblyManifest{Main: filepath.Base(mainFile), Size: total}
	dirs := []string{staging}
	var mainSum string
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		dst := filepath.Join(staging, e.rel)
		mf := manifestFile{Path: filepath.ToSlash(e.rel)}
		switch {
		case e.info.IsDir():
			if err := os.Mkdir(dst, 0o700); err != nil {
				return fail(err)
			}
			dirs = append(dirs, dst)
			mf.Dir = true
		case e.link != "":
			if err := os.Symlink(e.link, dst); err != nil {
				return fail(err)
			}
			mf.Link = filepath.ToSlash(e.link)
		default:
			sum, err := s.copyInto(ctx, c, filepath.Join(dir, e.rel), e.info, dst, meter)
			if err != nil {
				return fail(err)
			}
			if e.rel == man.Main {
				mainSum = sum.Hex()
			}
			mf.Size, mf.SHA256 = sum.Size, sum.Hex()
		}
		man.Files = append(man.Files, mf)
	}
	man.Saved = time.Now().UTC() // like a file's modification time: when the copy was complete
	if err := writeManifest(filepath.Join(staging, manifestName), man); err != nil {
		return fail(err)
	}
	// Children first, so each folder is synced after what it names.
	for _, d := range slices.Backward(dirs) {
		filecopy.SyncDir(d)
	}
	if err := verifyStaged(staging, man); err != nil {
		return fail(err)
	}
	meter.Finish()
	prev, err := s.commitAssembly(staging, live, name)
	if err != nil {
		return fail(err)
	}
	committed = true
	return SaveResult{Name: name, Stored: live, Bytes: total, SHA256: mainSum, Previous: prev}, nil
}

// planAssembly lists what to copy from the assembly folder dir, refusing
// links that leave it and anything that is not a folder, a regular file or
// a link; nothing is copied before the whole folder is known to be fine.
func (s *LocalFolder) planAssembly(ctx context.Context, dir string) (entries []assemblyEntry, total, largest int64, err error) {
	// Links are judged against the folder's real location, which the
	// program may have reached through a link itself.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, 0, 0, err
	}
	realRoot, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return nil, 0, 0, err
	}
	if rel, err := filepath.Rel(real, realRoot); err == nil && filepath.IsLocal(rel) {
		return nil, 0, 0, fmt.Errorf("the cloud drive %s is inside the assembly folder", s.root)
	}
	err = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(real, path)
		if err != nil {
			return err
		}
		if rel == "." || rel == manifestName { // the manifest of a copy opened from the drive is rewritten
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := assemblyEntry{rel: rel, info: info}
		switch {
		case info.IsDir():
		case info.Mode().IsRegular():
			total += info.Size()
			largest = max(largest, info.Size())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(path)
			if err != nil {
				return fmt.Errorf("symbolic link %s: %w", rel, err)
			}
			inside, err := filepath.Rel(real, target)
			if err != nil || !filepath.IsLocal(inside) && inside != "." {
				return fmt.Errorf("%w: %s -> %s", ErrLinkEscapes, rel, target)
			}
			// Recreated relative, so the copy's link leads into the copy.
			if e.link, err = filepath.Rel(filepath.Dir(path), target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: %w", rel, filecopy.Regular(info))
		}
		entries = append(entries, e)
		return nil
	})
	return entries, total, largest, err
}

// copyInto copies the regular file src into the new file dst.
func (s *LocalFolder) copyInto(ctx context.Context, c *filecopy.Copier, src string, fi fs.FileInfo, dst string, meter *filecopy.Meter) (filecopy.Sum, error) {
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return filecopy.Sum{}, err
	}
	sum, err := s.copyVerified(ctx, c, src, fi, f, meter)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return sum, err
}

// copyVerified copies src into dst (see filecopy.Copier.Copy) and, with
// ReadBack, reads the copy back from the disk to compare.
func (s *LocalFolder) copyVerified(ctx context.Context, c *filecopy.Copier, src string, fi fs.FileInfo, dst *os.File, meter *filecopy.Meter) (filecopy.Sum, error) {
	sum, err := c.Copy(ctx, src, fi, dst, meter)
	if err != nil || !s.readBack {
		return sum, err
	}
	if s.afterWrite != nil {
		s.afterWrite(dst)
	}
	return sum, c.ReadBack(dst, sum)
}

func writeManifest(path string, m assemblyManifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// verifyStaged checks that the staging folder holds exactly what the
// manifest lists, with the sizes and link targets recorded; each file's
// content was checked as it was copied (see LocalFolder).
func verifyStaged(staging string, m assemblyManifest) error {
	want := make(map[string]manifestFile, len(m.Files))
	for _, f := range m.Files {
		want[f.Path] = f
	}
	seen := 0
	err := filepath.WalkDir(staging, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(staging, path)
		if err != nil {
			return err
		}
		if rel == "." || rel == manifestName {
			return nil
		}
		w, ok := want[filepath.ToSlash(rel)]
		if !ok {
			return fmt.Errorf("%w: unexpected %s", filecopy.ErrVerify, rel)
		}
		seen++
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case w.Dir:
			if !info.IsDir() {
				return fmt.Errorf("%w: %s is not a folder", filecopy.ErrVerify, rel)
			}
		case w.Link != "":
			target, err := os.Readlink(path)
			if err != nil || filepath.ToSlash(target) != w.Link {
				return fmt.Errorf("%w: link %s", filecopy.ErrVerify, rel)
			}
		default:
			if !info.Mode().IsRegular() || info.Size() != w.Size {
				return fmt.Errorf("%w: %s", filecopy.ErrVerify, rel)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seen != len(m.Files) {
		return fmt.Errorf("%w: %d of %d entries present", filecopy.ErrVerify, seen, len(m.Files))
	}
	return nil
}

// commitAssembly puts the verified staging folder in place of live, keeping
// the current one as a version.
func (s *LocalFolder) commitAssembly(staging, live, name string) (prev string, err error) {
	s.commit.Lock()
	defer s.commit.Unlock()
	switch _, err := os.Lstat(live); {
	case errors.Is(err, fs.ErrNotExist):
		if err := filecopy.Commit(staging, live); err != nil {
			return "", err
		}
		return "", nil
	case err != nil:
		return "", err
	}
	// A folder cannot be renamed over another, so the old one has to move
	// aside. Where the system can swap two names atomically (Linux) a reader
	// sees the old assembly or the new one; elsewhere the name is missing
	// for the moment between two renames, but never half copied.
	var old string // where the previous version is once the new one is live
	if err := filecopy.Exchange(staging, live); err == nil {
		old = staging
	} else {
		aside, err := os.MkdirTemp(s.root, "."+name+".old-*")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(aside)
		old = filepath.Join(aside, name)
		if err := os.Rename(live, old); err != nil {
			return "", err
		}
		if err := os.Rename(staging, live); err != nil {
			_ = os.Rename(old, live)
			return "", err
		}
	}
	filecopy.SyncDir(s.root)
	// The new assembly is live: failing to keep the old one must not turn
	// a completed save into a reported failure.
	if s.keep > 0 {
		if p, err := s.newVersionPath(name); err == nil && os.Rename(old, p) == nil {
			filecopy.SyncDir(filepath.Dir(p))
			s.pruneVersions(name)
			return p, nil
		}
	}
	os.RemoveAll(old)
	return "", nil
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
func (s *LocalFolder) List(ctx context.Context) ([]CloudFile, error) {
	des, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list cloud drive: %w", err)
	}
	files := make([]CloudFile, 0, len(des))
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list cloud drive: %w", err)
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
	slices.SortFunc(files, func(a, b CloudFile) int {
		if c := b.Modified.Compare(a.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return files, nil
}

// Open resolves the entry name (a file, or an assembly's folder) to the file
// to open. name must be a plain name as List returns it.
func (s *LocalFolder) Open(ctx context.Context, name string) (CloudFile, error) {
	if err := ctx.Err(); err != nil {
		return CloudFile{}, fmt.Errorf("open %q: %w", name, err)
	}
	if err := checkName(name); err != nil {
		return CloudFile{}, fmt.Errorf("open %q: %w", name, err)
	}
	f, err := s.entry(name)
	if err != nil {
		return CloudFile{}, fmt.Errorf("open %q: %w", name, err)
	}
	return f, nil
}

// entry describes the drive entry name (already checked by checkName or
// read from the root).
func (s *LocalFolder) entry(name string) (CloudFile, error) {
	p := filepath.Join(s.root, name)
	fi, err := os.Lstat(p)
	if err != nil {
		return CloudFile{}, err
	}
	switch {
	case fi.Mode().IsRegular():
		return CloudFile{Name: name, Path: p, Size: fi.Size(), Modified: fi.ModTime()}, nil
	case fi.IsDir():
		main, size, saved, err := readAssembly(p)
		if err != nil {
			return CloudFile{}, err
		}
		return CloudFile{Name: name, Path: filepath.Join(p, main), Assembly: true, Size: size, Modified: saved}, nil
	default:
		return CloudFile{}, filecopy.Regular(fi)
	}
}

// readAssembly finds an assembly folder's main file, from its manifest or,
// for a folder put into the drive by hand, as the first file named like the
// folder.
func readAssembly(dir string) (main string, size int64, saved time.Time, err error) {
	name := filepath.Base(dir)
	if data, err := os.ReadFile(filepath.Join(dir, manifestName)); err == nil {
		var m assemblyManifest
		if json.Unmarshal(data, &m) == nil && m.Main != "" && checkName(m.Main) == nil {
			if fi, err := os.Lstat(filepath.Join(dir, m.Main)); err == nil && fi.Mode().IsRegular() {
				return m.Main, m.Size, m.Saved, nil
			}
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, time.Time{}, err
	}
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		if d, _, err := assemblyFolder(filepath.Join(dir, de.Name())); err != nil || d != dir {
			continue
		}
		fi, err := os.Stat(dir)
		if err != nil {
			return "", 0, time.Time{}, err
		}
		return de.Name(), folderSize(dir), fi.ModTime(), nil
	}
	return "", 0, time.Time{}, fmt.Errorf("%s: %w", name, ErrNotAssembly)
}

func folderSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
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
