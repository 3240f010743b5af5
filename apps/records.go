// The records of installed packages: apps.json, read and written whole,
// atomically, under the install lock.

package apps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
)

const recordsFile = "apps.json"

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
