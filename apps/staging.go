// Staging folders (journaled before they exist, so that a killed install
// leaves nothing the next call cannot find), the kept package folders, and
// the clean-up of what interrupted attempts left.

package apps

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/download"
)

const (
	stagingFile = "staging.json" // journal of the staging folders in use
	stagePrefix = ".iscdesk-stage-"
	// partialMaxAge is how long an abandoned partial download is kept for
	// a resume before a later install deletes it.
	partialMaxAge = 7 * 24 * time.Hour
)

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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
