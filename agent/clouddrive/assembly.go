package clouddrive

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
	"time"

	"github.com/iscdesk/iscdesk/internal/filecopy"
)

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
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrHoldsDrive, s.root)
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
