// The install lock: installs and uninstalls on one Root take turns, across
// processes.

package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filelock"
)

const lockName = ".lock"

// lock serializes installs and uninstalls across processes sharing Root.
// The OS drops the lock when its holder dies, so a killed install never
// blocks the next one.
// Waiting for the lock ends with the context: canceled, or errs.Busy when
// its deadline passed while another process held the lock.
func (m *Manager) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(m.Root, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(m.Root, lockName)
	unlock, err := filelock.Lock(ctx, path)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, errs.E("", errs.Busy, fmt.Errorf("another install or uninstall holds %s: %w", path, err))
	}
	return unlock, err
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
