// The install lock: installs and uninstalls on one Root take turns, across
// processes.

package apps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

const lockName = ".lock"

// lock serializes installs and uninstalls across processes sharing Root.
// The OS drops the lock when its holder dies, so a killed install never
// blocks the next one.
func (m *Manager) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(m.Root, 0o700); err != nil {
		return nil, err
	}
	return lockFile(ctx, filepath.Join(m.Root, lockName))
}

// lockedRecord takes the install lock and returns the record of name; the
// caller releases the lock with unlock.
func (m *Manager) lockedRecord(ctx context.Context, name string) (Installed, func(), error) {
	if err := m.check(); err != nil {
		return Installed{}, nil, err
	}
	unlock, err := m.lock(ctx)
	if err != nil {
		return Installed{}, nil, err
	}
	r, err := m.loadRecords()
	if err != nil {
		unlock()
		return Installed{}, nil, err
	}
	i := r.find(name)
	if i < 0 {
		unlock()
		return Installed{}, nil, fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	return r.Apps[i], unlock, nil
}
