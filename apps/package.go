package apps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/iscdesk/iscdesk/internal/safename"
)

// format is the container format of a package file.
type format int

const (
	formatTarGz format = iota + 1
	formatTar
	formatZip
)

// detectFormat looks at the first bytes of the file: the published name is
// software.<tar.gz|tar|zip>, but downloads get renamed and servers serve
// any name, so the content decides. The suffix only settles an old-style
// tar archive, which carries no magic number.
func detectFormat(path string) (format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return formatTarGz, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return formatZip, nil
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return formatTar, nil
	case strings.HasSuffix(strings.ToLower(path), ".tar") && n == 512:
		return formatTar, nil
	}
	return 0, fmt.Errorf("%w: %s is not a .tar.gz, .tar or .zip archive", ErrBadPackage, filepath.Base(path))
}

// packageDir is an unpacked package: the folder holding its scripts, and
// its name and version.
type packageDir struct {
	dir     string
	name    string
	version string
}

// manifest is software.json. Vendors may add fields; these two are required.
type manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

const manifestName = "software.json"

// inspectPackage finds the scripts of the package unpacked in stage (at its
// top level, or inside its single top folder) and its name: from
// software.json, else the single top folder's name, else the archive's file
// name without its suffix.
func inspectPackage(stage, archiveName string) (packageDir, error) {
	entries, err := os.ReadDir(stage)
	if err != nil {
		return packageDir{}, err
	}
	// macOS's archiver adds a __MACOSX folder of resource forks beside the
	// real content; it is not a second top folder.
	var top []fs.DirEntry
	for _, e := range entries {
		if e.Name() != "__MACOSX" {
			top = append(top, e)
		}
	}
	pkg := packageDir{dir: stage, name: archiveBaseName(archiveName)}
	if len(top) == 1 && top[0].IsDir() {
		pkg.dir = filepath.Join(stage, top[0].Name())
		pkg.name = top[0].Name()
	}
	for _, script := range []string{installScript, uninstallScript} {
		if st, err := os.Stat(filepath.Join(pkg.dir, script)); err != nil || !st.Mode().IsRegular() {
			return packageDir{}, missingScript(pkg.dir, script)
		}
	}

	b, err := readSmall(filepath.Join(pkg.dir, manifestName), 1<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pkg.name = sanitizeName(pkg.name)
		if pkg.name == "" {
			return packageDir{}, fmt.Errorf("%w: it has no %s and its file name gives no usable name", ErrBadPackage, manifestName)
		}
		return pkg, nil
	case err != nil:
		return packageDir{}, fmt.Errorf("%w: %s: %v", ErrBadPackage, manifestName, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return packageDir{}, fmt.Errorf("%w: %s: %v", ErrBadPackage, manifestName, err)
	}
	if err := checkName(m.Name); err != nil {
		return packageDir{}, fmt.Errorf("%w: %s: name %q: %v", ErrBadPackage, manifestName, m.Name, err)
	}
	m.Version = strings.TrimSpace(m.Version)
	if m.Version == "" || len(m.Version) > 100 || strings.ContainsFunc(m.Version, unicode.IsControl) {
		return packageDir{}, fmt.Errorf("%w: %s: want a version of at most 100 printable characters", ErrBadPackage, manifestName)
	}
	pkg.name, pkg.version = m.Name, m.Version
	return pkg, nil
}

// missingScript says what is missing, and whether the package is for
// another system.
func missingScript(dir, script string) error {
	for _, other := range otherSystemScripts {
		if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
			return fmt.Errorf("%w: it is for another system (it has %s but no %s)", ErrBadPackage, other, script)
		}
	}
	return fmt.Errorf("%w: it has no %s at its top level or in its single top folder", ErrBadPackage, script)
}

func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}

// A package name becomes a folder name (the default target, the kept
// scripts, the logs) on every system, so it must be one everywhere.
func checkName(name string) error { return safename.Check(name) }

// sanitizeName turns a file or folder name into a valid package name, or ""
// when nothing usable is left.
func sanitizeName(s string) string { return safename.Sanitize(s) }

// archiveBaseName is the file name without its archive suffix:
// "acme-cad-2.1.tar.gz" gives "acme-cad-2.1".
func archiveBaseName(name string) string {
	lower := strings.ToLower(name)
	for _, suffix := range []string{".tar.gz", ".tgz", ".tar", ".zip", ".gz"} {
		if strings.HasSuffix(lower, suffix) {
			return name[:len(name)-len(suffix)]
		}
	}
	return name
}
