package store

import (
	"context"
	"errors"

	"github.com/iscdesk/iscdesk/internal/errs"
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
// encrypted-file store when none exists. A keyring that exists but fails (it
// is locked and times out, say) is an error of kind Storage, not a reason to
// switch: the record would then seem to vanish.
func Open(ctx context.Context, o Options) (Store, error) {
	if o.MachineID == nil {
		o.MachineID = MachineID
	}
	if _, err := o.MachineID(); err != nil {
		return nil, errs.E("store.open", errs.Storage, errors.New("this machine has no machine id (/etc/machine-id): cannot bind an authorization to it"))
	}
	_, err := o.Secrets.Get(ctx, accountHead)
	switch {
	case err == nil, errors.Is(err, secret.ErrNotFound):
		return NewKeyringStore(o.Secrets, o.MachineID), nil
	case errors.Is(err, secret.ErrUnavailable):
		return NewFileStore(o.Dir, o.MachineID), nil
	default:
		return nil, errs.E("store.open", errs.Storage, err)
	}
}
