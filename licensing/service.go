package licensing

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filelock"
	"github.com/iscdesk/iscdesk/token/activation"
)

// Server is the vendor license server (docs/server-api.md) as the service
// needs it: the HTTP client in production, a fake in tests. Refusals come as
// errors of the kind the server named, wrapping a *Refusal when it gave a
// reason.
type Server interface {
	// Activate asks for a seat of req.Code for this device.
	Activate(ctx context.Context, req ActivateRequest) (Grant, error)
	// Check asks, signed by the device key, for a fresh activation token
	// (the daily check); fingerprint is this machine's current one.
	Check(ctx context.Context, activationID string, key ed25519.PrivateKey, fingerprint string) (string, error)
	// Deactivate frees the seat, signed by the device key.
	Deactivate(ctx context.Context, activationID string, key ed25519.PrivateKey) error
	// DeviceLicense asks, signed by the device key, for a device license
	// for the vendor's program.
	DeviceLicense(ctx context.Context, activationID string, key ed25519.PrivateKey, req DeviceLicenseRequest) (string, error)
	// Endorsements returns the key endorsements the server publishes with
	// its vendor keys (activation.Endorse: each key vouched for by the one
	// before it), so that a desktop that pinned an older key follows a
	// rotation.
	Endorsements(ctx context.Context) ([]string, error)
}

// ActivateRequest is what a device sends to activate a code.
type ActivateRequest struct {
	Code        string
	Fingerprint string
	DeviceKey   ed25519.PublicKey
	Host        string
	App         string
	Version     string
	// RequestID is fresh for each activation and the same for its retries,
	// so the server answers a retry with the seat it already bound.
	RequestID string
}

// Grant is the server's answer to an activation.
type Grant struct {
	ActivationID string
	Token        string // the signed activation token
}

// DeviceLicenseRequest asks for a device license bound to DevInfo.
type DeviceLicenseRequest struct {
	DevInfo  string
	NotAfter time.Time // zero: the license's expiry
	// Machine is the protected OS machine id the license also binds when
	// DevInfo names a single unit part (devinfo.Components.NeedsMachineID).
	Machine string
	// LeaseID is the lease the program holds, for a floating product: the
	// license ends with it.
	LeaseID string
}

// Refusal is the server's reason for refusing a license (its API's reason
// names: seats_full, deactivated, revoked, moved, released, expired,
// wrong_machine) and its sentence. The error of a refused call wraps it.
type Refusal struct {
	Reason  string
	Message string
	// Holders and EarliestEnd: who holds the leases of a full pool and
	// when the first ends unless renewed (reason pool_full).
	Holders     []Holder
	EarliestEnd time.Time
}

func (r *Refusal) Error() string { return r.Message }

// Reasons of a Refusal that end an activation; the mark remembers them.
var refusalStatus = map[string]Status{
	"deactivated": StatusDeactivated,
	"revoked":     StatusRevoked,
	"moved":       StatusMoved,
	"released":    StatusReleased,
	"expired":     StatusExpired,
}

// ended returns the status an activation ended with when err is the
// server's refusal saying so, and "" otherwise.
func ended(err error) Status {
	var r *Refusal
	if errors.As(err, &r) {
		return refusalStatus[r.Reason]
	}
	return ""
}

// RecordStore keeps the cached activation (package store has the OS
// keyring and the encrypted-file implementations). Calls are not
// serialised by the store: the Service does that.
type RecordStore interface {
	// Load returns the record, or an error of kind NotActivated (none cached),
	// Tampered, WrongMachine or Storage.
	Load(ctx context.Context) (Record, error)
	// Save replaces the record atomically.
	Save(ctx context.Context, r Record) error
	// Delete removes the record; removing none is not an error.
	Delete(ctx context.Context) error
	// Kind names the storage for people and the CLI: "keyring" or "file"
	// ("" while it is not known yet).
	Kind() string
}

// Settings are the configured values the flows read. The service asks for
// them at the start of every flow, so a change (the window's Settings
// screen) applies to the next call without building a new service.
type Settings struct {
	// Server is the configured vendor server's base URL; "" means the
	// server that issued the cached activation.
	Server string
	// Keys are the pinned vendor public keys (server_key): activation tokens
	// must be signed by one of them. None pinned refuses every flow that
	// needs a token.
	Keys activation.Keys
	// Grace, when set, bounds the offline grace period further than the
	// token's check_by: at most Grace after the token was issued.
	Grace time.Duration
}

// Source says where a status came from.
type Source string

// Sources of a status.
const (
	SourceOnline Source = "online"
	SourceCache  Source = "cache"
)

// State is the answer to "may the software run": the cached record, the
// verdict of the token rules, and where it came from.
type State struct {
	Record  Record
	Verdict Verdict
	Source  Source
	Storage string // "keyring" or "file"
	// OnlineErr is why an online check did not happen when the state comes
	// from the cache (nil otherwise).
	OnlineErr error
}

// DefaultLockWait bounds the wait for the record's lock when
// Service.LockWait is zero. Holders keep it for the few milliseconds of a
// load and a save, never across a network call.
const DefaultLockWait = 10 * time.Second

// Service runs the activation, validation and deactivation flows against
// the vendor license server. Build one per process
// and hand it to every part that needs it (the CLI command, the window, the
// agent); it is safe for concurrent use.
//
// Every read-modify-write of the cached record, and of the clock mark
// kept apart from it (Marks), goes through it and holds its lock: the
// mutex within the process and, when LockFile is set, an OS file lock
// shared with other processes (the CLI and a running window).
// Network calls happen outside the lock; what they bring back is applied to
// the record as it is after them, so a record removed meanwhile stays
// removed.
type Service struct {
	Store RecordStore
	// Marks keeps the clock mark (Mark) apart from the record, so that a
	// restored older copy of the record cannot turn the clock or an
	// activation's state back. Nil keeps none: the record's own MaxSeen is
	// then the only memory of time.
	Marks MarkStore
	// Settings returns the current settings; nil means none (no server
	// configured, no key pinned).
	Settings func() (Settings, error)
	// Connect returns the client of the vendor server at url. It is called
	// for every online flow.
	Connect func(ctx context.Context, url string) (Server, error)
	// LockFile is the lock file shared with other processes; "" locks
	// within this Service only.
	LockFile string
	// LockWait bounds the wait for the lock (DefaultLockWait when zero):
	// past it a flow fails with kind Busy.
	LockWait time.Duration

	Fingerprint func(ctx context.Context) devinfo.Fingerprint
	// Host names this machine to the server (the seat holders it lists);
	// nil means os.Hostname.
	Host func() string
	// App and Version name the activating program to the server.
	App, Version string
	Now          func() time.Time
	Logger       *slog.Logger

	// The lock within the process (see lock): a one-slot semaphore rather
	// than a mutex, so a caller waiting for it can give up.
	semOnce sync.Once
	sem     chan struct{}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) settings() (Settings, error) {
	if s.Settings == nil {
		return Settings{}, nil
	}
	return s.Settings()
}

// lock takes the record's lock: the mutex, then the lock file. It fails
// with kind Busy when another process holds the file past LockWait, and
// with kind Canceled when ctx is cancelled meanwhile.
func (s *Service) lock(ctx context.Context) (unlock func(), err error) {
	wait := s.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	s.semOnce.Do(func() { s.sem = make(chan struct{}, 1) })
	select {
	case s.sem <- struct{}{}:
	case <-lctx.Done():
		return nil, s.lockErr(ctx, wait, lctx.Err())
	}
	inProcess := func() { <-s.sem }
	if s.LockFile == "" {
		return inProcess, nil
	}
	release, err := filelock.Lock(lctx, s.LockFile)
	if errors.Is(err, filelock.ErrCannotOpen) {
		// A read-only home, or a lock file root left behind: the record
		// may still be readable, so go on with the in-process lock alone
		// rather than lock the user out of their license.
		s.log().Warn("license: going on without the cross-process lock", "err", err)
		return inProcess, nil
	}
	if err != nil {
		inProcess()
		return nil, s.lockErr(ctx, wait, err)
	}
	return func() { release(); inProcess() }, nil
}

// lockErr is why lock failed: the caller gave up (Canceled), the holder kept
// it past wait (Busy), or the lock file failed (Storage).
func (s *Service) lockErr(ctx context.Context, wait time.Duration, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return errs.E("license.lock", errs.Canceled, fmt.Errorf("gave up waiting while another iscdesk call held the activation (%w)", ctx.Err()))
	case errors.Is(err, context.DeadlineExceeded):
		return errs.E("license.lock", errs.Busy, fmt.Errorf("another iscdesk call kept the activation locked for %s: try again", wait))
	}
	return errs.E("license.lock", errs.Storage, err)
}
