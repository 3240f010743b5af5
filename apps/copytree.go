// Copying a folder, for a kept package folder on another filesystem.

package apps

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/internal/filecopy"
)

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

// copyFile copies one regular file with the one copy engine
// (internal/filecopy: synced, checked against a change of the source).
func copyFile(src, dst string, perm fs.FileMode) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = filecopy.NewCopier(fi.Size()).Copy(context.Background(), src, fi, out, nil)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
