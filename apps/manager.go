package apps

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Default caps on what one package may unpack to. They stop a hostile or
// broken archive (a zip bomb) from filling the disk, and are far above what
// real vendor suites ship.
const (
	DefaultMaxUnpackedBytes = 32 << 30 // 32 GiB
	DefaultMaxEntries       = 1_000_000
	// DefaultScriptTimeout bounds one install or uninstall script: large
	// engineering suites take minutes, never hours.
	DefaultScriptTimeout = time.Hour
)

// Manager installs, uninstalls and lists vendor packages for one user. Its
// zero value is not usable: set Root and AppsDir (see DefaultRoot and
// DefaultAppsDir). A Manager holds no state between calls, so several
// processes (the desktop app and the CLI) may use the same Root: they take
// turns through a lock file there.
type Manager struct {
	// Root is the folder of the records: apps.json, the kept package
	// folders (packages/), the script logs (logs/).
	Root string
	// AppsDir is where a package is installed when no folder is given:
	// AppsDir/<name>.
	AppsDir string
	// CacheDir holds downloads while they are incomplete, so that an
	// interrupted download resumes; "" means Root/downloads.
	CacheDir string
	// ScriptTimeout bounds each install or uninstall script; 0 means
	// DefaultScriptTimeout.
	ScriptTimeout time.Duration
	// Proxy is the proxy URL for downloads and for the scripts' own
	// (childenv.WithProxy); "" means the environment's HTTPS_PROXY /
	// NO_PROXY. Loopback addresses never use a proxy.
	Proxy string
	// ExtraRootCAs are trusted for HTTPS downloads in addition to the
	// system's roots: a private company CA, or a test server's certificate.
	ExtraRootCAs []*x509.Certificate
	// MaxUnpackedBytes and MaxEntries cap one package; 0 means the defaults.
	MaxUnpackedBytes int64
	MaxEntries       int
}

// DefaultRoot is the records folder of the current user: the iscdesk folder
// in the user's configuration folder, beside config.json.
func DefaultRoot() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iscdesk"), nil
}

// DefaultCacheDir is where downloads wait until complete: the user's cache
// folder, which the OS may clean.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iscdesk", "downloads"), nil
}

// List returns the installed packages sorted by name.
func (m *Manager) List() ([]Installed, error) {
	r, err := m.loadRecords()
	if err != nil {
		return nil, failed(opList, err)
	}
	return r.Apps, nil
}

func (m *Manager) check() error {
	if m.Root == "" || m.AppsDir == "" {
		return errs.Errorf("", errs.Invalid, "apps.Manager needs Root and AppsDir")
	}
	return nil
}

func (m *Manager) maxBytes() int64 {
	if m.MaxUnpackedBytes > 0 {
		return m.MaxUnpackedBytes
	}
	return DefaultMaxUnpackedBytes
}

func (m *Manager) maxEntries() int {
	if m.MaxEntries > 0 {
		return m.MaxEntries
	}
	return DefaultMaxEntries
}

func (m *Manager) scriptTimeout() time.Duration {
	if m.ScriptTimeout > 0 {
		return m.ScriptTimeout
	}
	return DefaultScriptTimeout
}

func (m *Manager) cacheDir() string {
	if m.CacheDir != "" {
		return m.CacheDir
	}
	return filepath.Join(m.Root, "downloads")
}
