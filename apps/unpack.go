package apps

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/filecopy"
)

// unpacker extracts one archive into a folder. Every entry is checked before
// anything is written, and the writing itself goes through an os.Root, so
// that even a check this code got wrong cannot write outside the folder.
type unpacker struct {
	maxBytes   int64
	maxEntries int
	progress   func(Progress)

	root    *os.Root
	entries int
	bytes   int64
	// links are the symbolic links created so far (slash paths): no later
	// entry may be written through one or replace one, which is what makes
	// checking each link target on its own sufficient.
	links map[string]bool
}

func (u *unpacker) unpack(ctx context.Context, archive string, f format, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	u.root = root
	u.links = map[string]bool{}

	file, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	report := func(done, total int64) { u.progress(Progress{Phase: PhaseUnpack, Done: done, Total: total}) }
	report(0, st.Size())
	meter := filecopy.NewMeter(report, st.Size(), progressStep)
	pr := filecopy.NewReader(ctx, file, meter)
	switch f {
	case formatTarGz:
		err = u.untarGz(ctx, pr)
	case formatTar:
		err = u.untar(ctx, pr)
	case formatZip:
		err = u.unzip(ctx, file, st.Size(), meter)
	}
	if err != nil {
		return err
	}
	meter.Finish()
	return nil
}

// untarGz decompresses in a goroutine of its own, ahead of the writing, the
// way `tar -xzf` runs gzip as a separate process. pr is read, and so reports
// progress, only from that goroutine, which has ended when untarGz returns.
func (u *unpacker) untarGz(ctx context.Context, pr io.Reader) error {
	gz, err := gzip.NewReader(pr)
	if err != nil {
		return damaged(err)
	}
	ra := newReadAhead(gz)
	defer ra.Close()
	if err := u.untar(ctx, ra); err != nil {
		return err
	}
	// Read to the end so that gzip checks its checksum and length: a
	// truncated or corrupted download fails here rather than installing.
	if _, err := io.Copy(io.Discard, ra); err != nil {
		return damaged(err)
	}
	return nil
}

func (u *unpacker) untar(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return damaged(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := u.entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = u.mkdir(name, mode)
		case tar.TypeReg, tar.TypeGNUSparse:
			err = u.writeFile(name, mode, hdr.Size, hdr.ModTime, tr)
		case tar.TypeSymlink:
			err = u.symlink(name, hdr.Linkname)
		case tar.TypeLink:
			err = u.hardlink(name, hdr.Linkname)
		default:
			err = fmt.Errorf("%w: entry %q is a device, pipe or other special file", ErrBadPackage, hdr.Name)
		}
		if err != nil {
			return err
		}
	}
}

func (u *unpacker) unzip(ctx context.Context, file io.ReaderAt, size int64, meter *filecopy.Meter) error {
	zr, err := zip.NewReader(file, size)
	if err != nil {
		return damaged(err)
	}
	if len(zr.File) > u.maxEntries {
		return fmt.Errorf("%w: %d entries, more than the limit of %d", ErrTooLarge, len(zr.File), u.maxEntries)
	}
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, err := u.entryName(zf.Name)
		if err != nil {
			return err
		}
		mode := zf.Mode()
		if name != "" {
			switch {
			case mode.IsDir():
				err = u.mkdir(name, mode)
			case mode&fs.ModeSymlink != 0:
				err = u.zipSymlink(name, zf)
			case mode.IsRegular():
				err = u.zipFile(name, mode, zf)
			default:
				err = fmt.Errorf("%w: entry %q is a device, pipe or other special file", ErrBadPackage, zf.Name)
			}
			if err != nil {
				return err
			}
		}
		meter.Add(int64(zf.CompressedSize64))
	}
	return nil
}

func (u *unpacker) zipFile(name string, mode fs.FileMode, zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return damaged(err)
	}
	defer rc.Close()
	// The declared size may lie; writeFile enforces the cap on what is
	// actually read, and reading to the end makes zip check the CRC.
	return u.writeFile(name, mode, -1, zf.Modified, rc)
}

func (u *unpacker) zipSymlink(name string, zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return damaged(err)
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return damaged(err)
	}
	if len(target) > 4096 {
		return fmt.Errorf("%w: link %q: target too long", ErrBadPackage, zf.Name)
	}
	return u.symlink(name, string(target))
}

// entryName checks an archive entry's name and returns it cleaned,
// slash-separated and relative ("" for the archive's root folder itself).
// It also counts entries against the cap.
func (u *unpacker) entryName(raw string) (string, error) {
	u.entries++
	if u.entries > u.maxEntries {
		return "", fmt.Errorf("%w: more than %d entries", ErrTooLarge, u.maxEntries)
	}
	name := raw
	for strings.HasPrefix(name, "./") {
		name = strings.TrimLeft(name[2:], "/")
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" || name == "." {
		return "", nil
	}
	if err := checkRelative(name); err != nil {
		return "", fmt.Errorf("%w: entry %q %v", ErrUnsafeArchive, raw, err)
	}
	// Writing through a link created earlier could land anywhere the link
	// points; replacing one could retarget what a check already passed.
	for p := name; p != "."; p = path.Dir(p) {
		if u.links[p] {
			return "", fmt.Errorf("%w: entry %q is written through or over the link %q", ErrUnsafeArchive, raw, p)
		}
	}
	return name, nil
}

// checkRelative accepts a slash-separated path that names something inside
// the folder on every system: no "..", no absolute path, no drive letter, no
// backslash (a separator on Windows), no name Windows reserves.
func checkRelative(name string) error {
	switch {
	case strings.Contains(name, `\`):
		return errors.New("contains a backslash")
	case strings.HasPrefix(name, "/"):
		return errors.New("is an absolute path")
	case len(name) >= 2 && name[1] == ':' && isLetter(name[0]):
		return errors.New("starts with a drive letter")
	case strings.ContainsRune(name, 0):
		return errors.New("contains a NUL byte")
	case !fs.ValidPath(name):
		return errors.New("leaves the package folder (\"..\" or an empty or \".\" element)")
	}
	if _, err := filepath.Localize(name); err != nil {
		return errors.New("is not a valid file name on this system")
	}
	return nil
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// linkTargetInside reports whether a symbolic link at name (slash path)
// with the given target resolves inside the folder. ".." is allowed only as
// leading elements, and not more of them than name's depth: after them the
// target only descends, through real folders or through links that were
// themselves checked, so it cannot climb out. "lib/../x"-style targets are
// refused rather than resolved, since what ".." after a link means depends
// on where the link points.
func linkTargetInside(name, target string) error {
	switch {
	case target == "":
		return errors.New("has an empty target")
	case strings.Contains(target, `\`):
		return errors.New("has a backslash in its target")
	case strings.HasPrefix(target, "/"):
		return errors.New("points to an absolute path")
	case len(target) >= 2 && target[1] == ':' && isLetter(target[0]):
		return errors.New("points to a drive")
	case strings.ContainsRune(target, 0):
		return errors.New("has a NUL byte in its target")
	}
	depth := strings.Count(name, "/")
	elems := strings.Split(target, "/")
	up := 0
	for up < len(elems) && elems[up] == ".." {
		up++
	}
	if up > depth {
		return errors.New("points outside the package folder")
	}
	for _, e := range elems[up:] {
		if e == ".." {
			return errors.New("has \"..\" after other elements in its target")
		}
	}
	return nil
}

// noGroupOtherWrite is masked off every unpacked file and folder, whatever
// the archive says: a vendor's 0777 would let any local user replace a
// program that every user (or root) later runs.
const noGroupOtherWrite fs.FileMode = 0o022

func (u *unpacker) mkdir(name string, mode fs.FileMode) error {
	// The owner keeps full rights on folders: later entries are written
	// into them and the staging folder must stay removable. Nobody else may
	// write (see noGroupOtherWrite).
	perm := (mode.Perm() | 0o700) &^ noGroupOtherWrite
	if err := u.root.MkdirAll(filepath.FromSlash(name), perm); err != nil {
		return err
	}
	return u.root.Chmod(filepath.FromSlash(name), perm)
}

func (u *unpacker) mkParent(name string) error {
	if dir := path.Dir(name); dir != "." {
		return u.root.MkdirAll(filepath.FromSlash(dir), 0o755)
	}
	return nil
}

// writeFile writes one regular file. size is the declared size, or -1 when
// only reading tells.
func (u *unpacker) writeFile(name string, mode fs.FileMode, size int64, mtime time.Time, r io.Reader) error {
	if size > u.maxBytes-u.bytes {
		return u.tooLarge()
	}
	if err := u.mkParent(name); err != nil {
		return err
	}
	// Execute bits are kept (scripts, binaries); set-id and sticky bits
	// are not: a vendor package has no business installing set-uid files
	// through a user's client. The owner can always read and write;
	// nobody else may write.
	perm := (mode.Perm() | 0o600) &^ noGroupOtherWrite
	f, err := u.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	// A file that already existed (a duplicate entry) keeps its old mode
	// otherwise.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, u.maxBytes-u.bytes+1))
	u.bytes += n
	if err != nil {
		f.Close()
		return damaged(err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if u.bytes > u.maxBytes {
		return u.tooLarge()
	}
	if !mtime.IsZero() {
		_ = u.root.Chtimes(filepath.FromSlash(name), mtime, mtime) // cosmetic
	}
	return nil
}

func (u *unpacker) tooLarge() error {
	return fmt.Errorf("%w: it unpacks to more than %d bytes", ErrTooLarge, u.maxBytes)
}

func (u *unpacker) symlink(name, target string) error {
	if err := linkTargetInside(name, target); err != nil {
		return fmt.Errorf("%w: link %q %v (%q)", ErrUnsafeArchive, name, err, target)
	}
	if err := u.mkParent(name); err != nil {
		return err
	}
	if err := u.root.Symlink(filepath.FromSlash(target), filepath.FromSlash(name)); err != nil {
		return err
	}
	u.links[name] = true
	return nil
}

// hardlink links name to target, a path from the archive's root that must
// be a regular file unpacked before.
func (u *unpacker) hardlink(name, target string) error {
	clean := target
	for strings.HasPrefix(clean, "./") {
		clean = clean[2:]
	}
	if err := checkRelative(clean); err != nil {
		return fmt.Errorf("%w: hard link %q to %q: target %v", ErrUnsafeArchive, name, target, err)
	}
	for p := clean; p != "."; p = path.Dir(p) {
		if u.links[p] {
			return fmt.Errorf("%w: hard link %q to %q goes through the link %q", ErrUnsafeArchive, name, target, p)
		}
	}
	st, err := u.root.Lstat(filepath.FromSlash(clean))
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%w: hard link %q: %q is not a file unpacked before it", ErrBadPackage, name, target)
	}
	if err := u.mkParent(name); err != nil {
		return err
	}
	return u.root.Link(filepath.FromSlash(clean), filepath.FromSlash(name))
}

// damaged wraps a read error as a damaged archive, unless it is a
// cancellation or a failure of the disk being written.
func damaged(err error) error {
	var pe *fs.PathError
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%w: the archive is damaged: %v", ErrBadPackage, err)
}
