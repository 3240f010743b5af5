package licensing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Floating seats: a floating product's programs each hold a lease of the
// code's pool, taken from the vendor server, renewed by heartbeat, returned
// when the program ends; a lease borrowed for days works without the
// server until it lapses.

// Leaser is the floating-seat part of a Server (licensing/remote's
// implements it); a Server without it lends no leases.
type Leaser interface {
	// TakeLease takes (or, with req.BorrowDays, borrows) a lease of the
	// activation's floating code, signed by the device key.
	TakeLease(ctx context.Context, activationID string, key ed25519.PrivateKey, req LeaseRequest) (Lease, error)
	// Heartbeat renews a lease with its secret and returns its new end.
	Heartbeat(ctx context.Context, l Lease) (time.Time, error)
	// ReturnLease gives a lease back with its secret.
	ReturnLease(ctx context.Context, l Lease) error
}

// LeaseRequest asks for a lease.
type LeaseRequest struct {
	RequestID  string // fresh per lease, the same for its retries
	App        string
	BorrowDays int
	DevInfo    string // a borrow's device license binds it
	Machine    string
}

// Lease is a lease held: its id and secret (the credential of its
// heartbeats and return), its end unless renewed, how often to renew it,
// and for a borrow its end and device license.
type Lease struct {
	ID            string        `json:"id"`
	Secret        string        `json:"secret"`
	EndsAt        time.Time     `json:"ends_at"`
	Heartbeat     time.Duration `json:"heartbeat"`
	TTL           time.Duration `json:"ttl"`
	BorrowedUntil time.Time     `json:"borrowed_until,omitzero"`
	License       string        `json:"license,omitempty"`
}

// Holder names a program's machine holding a lease of a full pool, in a
// pool_full Refusal.
type Holder struct {
	Host  string
	Since time.Time
	Until time.Time
}

// Reasons of the floating seats' refusals.
const (
	ReasonPoolFull   = "pool_full"
	ReasonLeaseEnded = "lease_ended"
	ReasonNoLease    = "no_lease"
)

// RefusalReason is the reason of the Refusal err wraps, or "".
func RefusalReason(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// NewRequestID is a fresh request id (32 hex digits).
func NewRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// leaser returns the server of the cached activation as a Leaser, with the
// activation and its device key.
func (s *Service) leaser(ctx context.Context, op string) (Record, Leaser, ed25519.PrivateKey, error) {
	r, srv, key, err := s.cached(ctx, op)
	if err != nil {
		return Record{}, nil, nil, err
	}
	l, ok := srv.(Leaser)
	if !ok {
		return Record{}, nil, nil, errs.Errorf(op, errs.Unavailable, "the license server client lends no floating leases")
	}
	return r, l, key, nil
}

// TakeLease takes a lease for a program of app (see Leaser).
func (s *Service) TakeLease(ctx context.Context, app string) (Lease, error) {
	r, l, key, err := s.leaser(ctx, "lease")
	if err != nil {
		return Lease{}, err
	}
	return l.TakeLease(ctx, r.ActivationID, key, LeaseRequest{RequestID: NewRequestID(), App: app})
}

// Heartbeat renews a lease.
func (s *Service) Heartbeat(ctx context.Context, l Lease) (time.Time, error) {
	_, srv, _, err := s.leaser(ctx, "heartbeat")
	if err != nil {
		return time.Time{}, err
	}
	return srv.Heartbeat(ctx, l)
}

// ReturnLease gives a lease back.
func (s *Service) ReturnLease(ctx context.Context, l Lease) error {
	_, srv, _, err := s.leaser(ctx, "return lease")
	if err != nil {
		return err
	}
	return srv.ReturnLease(ctx, l)
}

// Borrow borrows a lease for days, for this machine's programs to use
// without the server, and keeps it with the cached activation: a device
// license bound to this machine's fingerprint (and, when that names a
// single unit part, its protected OS machine id for the license code,
// which machineID gives) that ends with the borrow. A borrow held already
// is refused: return it first.
func (s *Service) Borrow(ctx context.Context, days int, machineID func(license string) (string, error)) (Lease, error) {
	const op = "borrow"
	if days < 1 {
		return Lease{}, errs.Errorf(op, errs.Invalid, "borrow for at least 1 day")
	}
	r, l, key, err := s.leaser(ctx, op)
	if err != nil {
		return Lease{}, err
	}
	if b := r.Borrow; b != nil && s.now().Before(b.BorrowedUntil) {
		return Lease{}, errs.Errorf(op, errs.Invalid, "a lease is borrowed until %s already: return it first (`iscdesk lease return`)", b.BorrowedUntil.Format(time.RFC3339))
	}
	fp := s.Fingerprint(ctx)
	machine := ""
	if fp.Components.NeedsMachineID() {
		if machineID == nil {
			return Lease{}, errs.Errorf(op, errs.WrongMachine, "this machine's fingerprint names a single network card, disk or board, and no OS machine id is at hand to bind with it")
		}
		if machine, err = machineID(r.License); err != nil {
			return Lease{}, errs.E(op, errs.WrongMachine, fmt.Errorf("the OS machine id cannot be read: %w", err))
		}
	}
	b, err := l.TakeLease(ctx, r.ActivationID, key, LeaseRequest{RequestID: NewRequestID(), App: "borrow", BorrowDays: days, DevInfo: fp.String(), Machine: machine})
	if err != nil {
		return Lease{}, err
	}
	return b, s.setBorrow(ctx, &b)
}

// ReturnBorrow returns the borrowed lease early and forgets it here. With
// none borrowed it does nothing; a borrow the server says has ended is
// forgotten too.
func (s *Service) ReturnBorrow(ctx context.Context) (Lease, error) {
	r, l, _, err := s.leaser(ctx, "return borrow")
	if err != nil {
		return Lease{}, err
	}
	if r.Borrow == nil {
		return Lease{}, nil
	}
	b := *r.Borrow
	if err := l.ReturnLease(ctx, b); err != nil && !errs.Is(err, errs.NotExist) {
		return Lease{}, err
	}
	return b, s.setBorrow(ctx, nil)
}

// Borrowed is the borrowed lease kept here while it has not lapsed at
// now, for the programs of a floating product to use offline.
func (s *Service) Borrowed(ctx context.Context) (Lease, bool, error) {
	r, err := s.load(ctx)
	if err != nil {
		return Lease{}, false, err
	}
	if r.Borrow == nil || !s.now().Before(r.Borrow.BorrowedUntil) {
		return Lease{}, false, nil
	}
	return *r.Borrow, true, nil
}

func (s *Service) setBorrow(ctx context.Context, b *Lease) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := s.Store.Load(ctx)
	if err != nil {
		return err
	}
	r.Borrow = b
	return s.Store.Save(ctx, r)
}
