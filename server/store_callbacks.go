package server

import (
	"context"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
)

// ErrNoQuota is returned by CallbackStore.PutAsyncLicense when the instance
// has as many devices licensed as its quota allows.
var ErrNoQuota = errors.New("no remaining license quota on the instance")

// CallbackStore keeps what the marketplace's callbacks need (embedded in
// Store): the callbacks' nonces, the events applied, the asynchronous device
// licenses and their upload queue. Like Store, safe for several processes on
// one database.
type CallbackStore interface {
	// UseCallbackNonce records a callback's nonce; ErrReplay when it was
	// recorded before (by any process). Nonces older than before are
	// forgotten.
	UseCallbackNonce(ctx context.Context, nonce string, at, before time.Time) error

	// ApplyCodeEvent applies a refresh or release of a code once: in one
	// transaction it records ev.Key and, when the key is new, changes the
	// code (or records a code the server has not seen). applied is false
	// when the key was recorded before (the marketplace's retry).
	ApplyCodeEvent(ctx context.Context, ev CodeEvent) (applied bool, err error)

	// PutAsyncLicense stores l unless a license for its event and
	// fingerprint is stored already, and returns the stored one (the same
	// for every retry of the event). A new fingerprint for an instance that
	// has quota (> 0) fingerprints licensed already is refused with
	// ErrNoQuota; 0 is no limit. A new license enters the upload queue,
	// due at once and leased to l.LeaseOwner until l.LeaseUntil (the
	// process that issued it tries it first), or free when LeaseOwner is
	// empty.
	PutAsyncLicense(ctx context.Context, l AsyncLicense, quota int) (AsyncLicense, error)
	// AsyncLicense returns the license of an event and fingerprint, or
	// ErrNotFound.
	AsyncLicense(ctx context.Context, eventID, fingerprint string) (AsyncLicense, error)

	// ClaimUploads leases at most n due uploads (pending, next attempt at or
	// before now, lease free or lapsed) to owner until until, oldest first.
	// eventID and fingerprint, when not empty, claim that one upload only.
	ClaimUploads(ctx context.Context, owner string, now, until time.Time, n int, eventID, fingerprint string) ([]AsyncLicense, error)
	// FinishUpload records the outcome of an attempt made under owner's
	// lease; false when the lease was lost (another process took the upload
	// over), and nothing changes then.
	FinishUpload(ctx context.Context, owner string, r UploadResult) (bool, error)
	// UploadCounts counts the uploads by state.
	UploadCounts(ctx context.Context) (map[UploadState]int, error)
}

// CodeEvent is a refresh or release of a code told by the marketplace.
type CodeEvent struct {
	// Key identifies the event (its activity and fields): a retry has the
	// same key.
	Key      string
	Activity string // callback.ActivityRefresh or callback.ActivityRelease
	Hash     string
	Code     string
	// Status is the code's status afterwards: released for a release,
	// alive for a refresh that moves the expiry to the future, expired for
	// one that moves it to the past. A released code stays released.
	Status     licensing.Status
	ExpireTime time.Time // refresh: the new expiry
	ProductID  string    // "" keeps the stored one
	OrderID    string    // "" keeps the stored one
	At         time.Time
}

// UploadState is where a queued upload is.
type UploadState string

// The states of an upload.
const (
	UploadPending UploadState = "pending" // to be sent (again)
	UploadDone    UploadState = "done"    // the marketplace accepted it
	UploadFailed  UploadState = "failed"  // refused for good (LastCode, LastError say why)
)

// AsyncLicense is a device license issued on a getLicenseAsync callback,
// and its delivery through the marketplace's upload API.
type AsyncLicense struct {
	EventID     string
	Fingerprint string
	InstanceID  string
	ProductID   string
	TestFlag    string
	Token       string // the device license (package token)
	CreatedAt   time.Time

	State       UploadState
	Attempts    int
	NextAt      time.Time // the next attempt is due then
	LastCode    string    // the marketplace's last answer code, or "transport"
	LastError   string    // the last failure, for support
	DeliveredAt time.Time // zero until done
	LeaseOwner  string    // the process working on it, until LeaseUntil
	LeaseUntil  time.Time
}

// UploadResult is the outcome of one upload attempt.
type UploadResult struct {
	EventID     string
	Fingerprint string
	At          time.Time
	State       UploadState // done, pending (retry at NextAt) or failed
	NextAt      time.Time
	Code        string
	Error       string
}
