package store

import (
	"context"
	"errors"
	"sync"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

// Options says where Open looks.
type Options struct {
	// Secrets is the OS keyring (secret.Keyring{} in production).
	Secrets secret.Store
	// Dir is the folder of the encrypted-file fallback (the user's config
	// folder for iscdesk).
	Dir string
	// MachineID returns the protected machine id; nil means MachineID.
	MachineID func() (string, error)
}

// Open returns the keyring store when an OS keyring service answers, and the
// encrypted-file store when none exists. Opening the keyring removes the
// marketplace credentials an older client stored there
// (LegacyCredentialsAccount). A keyring that exists but fails (it
// is locked and times out, say) is an error of kind Storage, not a reason to
// switch: the record would then seem to vanish.
func Open(ctx context.Context, o Options) (licensing.RecordStore, error) {
	if o.MachineID == nil {
		o.MachineID = MachineID
	}
	if _, err := o.MachineID(); err != nil {
		return nil, errs.E("store.open", errs.Storage, errors.New("this machine has no machine id (/etc/machine-id): cannot bind an activation to it"))
	}
	_, err := o.Secrets.Get(ctx, accountHead)
	switch {
	case err == nil, errors.Is(err, secret.ErrNotFound):
		dropLegacyCredentials(ctx, o.Secrets)
		return NewKeyringStore(o.Secrets, o.MachineID), nil
	case errors.Is(err, secret.ErrUnavailable):
		return NewFileStore(o.Dir, o.MachineID), nil
	default:
		return nil, errs.E("store.open", errs.Storage, err)
	}
}

// LegacyCredentialsAccount is the keyring entry where clients before the
// vendor license server kept the marketplace AK/SK.
const LegacyCredentialsAccount = "marketplace-credentials"

// dropLegacyCredentials removes the marketplace AK/SK an older client left
// in the keyring: the desktop no longer holds them in any mode, and they
// must not outlive the upgrade. A failure is ignored; the next open tries
// again.
func dropLegacyCredentials(ctx context.Context, secrets secret.Store) {
	_ = secrets.Delete(ctx, LegacyCredentialsAccount)
}

// Deferred returns a store that opens the real one (Open) on its first use
// and keeps it. A failed open is returned by that call and tried again on
// the next, so a keyring unlocked later is found without a restart. Its
// Kind is "" until the store was opened. A process builds its license
// service with it at start without touching the keyring.
func Deferred(o Options) licensing.RecordStore { return &deferred{opts: o} }

type deferred struct {
	opts Options
	mu   sync.Mutex
	st   licensing.RecordStore
}

func (d *deferred) open(ctx context.Context) (licensing.RecordStore, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		st, err := Open(ctx, d.opts)
		if err != nil {
			return nil, err
		}
		d.st = st
	}
	return d.st, nil
}

func (d *deferred) Load(ctx context.Context) (licensing.Record, error) {
	st, err := d.open(ctx)
	if err != nil {
		return licensing.Record{}, err
	}
	return st.Load(ctx)
}

func (d *deferred) Save(ctx context.Context, r licensing.Record) error {
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	return st.Save(ctx, r)
}

func (d *deferred) Delete(ctx context.Context) error {
	st, err := d.open(ctx)
	if err != nil {
		return err
	}
	return st.Delete(ctx)
}

func (d *deferred) Kind() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return ""
	}
	return d.st.Kind()
}
