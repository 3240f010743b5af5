package clouddrive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SaveAsRequest is one "select save-as path": the file name a program
// suggests, or the one the user chose, and whether it saves an assembly.
type SaveAsRequest struct {
	FileName string // a plain file name, no folder
	Assembly bool   // saved as the folder named like the file without its extension
}

// SaveAsEntry checks a save-as file name and returns the name of the drive
// entry it becomes: the file name itself, or for an assembly the folder
// named like the file without its extension (gearbox.asm: gearbox). Both
// must be portable plain names (internal/safename); a name that is not is
// an error wrapping ErrBadName.
func SaveAsEntry(req SaveAsRequest) (string, error) {
	if err := checkName(req.FileName); err != nil {
		return "", err
	}
	if !req.Assembly {
		return req.FileName, nil
	}
	folder := strings.TrimSuffix(req.FileName, filepath.Ext(req.FileName))
	if folder == "" {
		folder = req.FileName
	}
	if err := checkName(folder); err != nil {
		return "", fmt.Errorf("assembly folder: %w", err)
	}
	return folder, nil
}

// SaveAsTarget says where a Save of req would store it in the drive: Path
// is the file's path in the drive (for an assembly, the main file inside
// its folder), Name the entry. An entry of that name that exists is
// described (Size, Modified), since the next Save replaces it; one of the
// other kind (a file where an assembly is asked, or the reverse) is an
// error wrapping ErrNameTaken, as Save would refuse it. Errors carry their
// kind (Invalid).
func (s *LocalFolder) SaveAsTarget(req SaveAsRequest) (File, error) {
	f, err := s.saveAsTarget(req)
	return f, withKind(err)
}

func (s *LocalFolder) saveAsTarget(req SaveAsRequest) (File, error) {
	name, err := SaveAsEntry(req)
	if err != nil {
		return File{}, fmt.Errorf("save as %q: %w", req.FileName, err)
	}
	f := File{Name: name, Path: filepath.Join(s.root, name), Assembly: req.Assembly}
	if req.Assembly {
		f.Path = filepath.Join(s.root, name, req.FileName)
	}
	switch fi, err := os.Lstat(filepath.Join(s.root, name)); {
	case err == nil && fi.IsDir() != req.Assembly || err == nil && !fi.IsDir() && !fi.Mode().IsRegular():
		return File{}, fmt.Errorf("save as %q: %w: %s", req.FileName, ErrNameTaken, name)
	case err == nil:
		if e, err := s.entry(name); err == nil {
			f.Size, f.Modified = e.Size, e.Modified
		}
	case !errors.Is(err, fs.ErrNotExist):
		return File{}, fmt.Errorf("save as %q: %w", req.FileName, err)
	}
	return f, nil
}
