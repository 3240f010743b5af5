package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// LeaseState is the state of a lease of a floating code.
type LeaseState string

// The states. Only LeaseActive holds a seat of the pool, and only until its
// end (EndsAt): a lease past its end holds nothing even before the reaper
// marks it LeaseExpired.
const (
	LeaseActive   LeaseState = "active"
	LeaseReturned LeaseState = "returned" // given back by its holder
	LeaseExpired  LeaseState = "expired"  // not renewed within its TTL, or its borrow ended
	LeaseEnded    LeaseState = "ended"    // its activation was deactivated or revoked
)

// Lease is one seat of a floating code's pool lent to a program on an
// activated device.
type Lease struct {
	ID           string
	CodeHash     string
	ActivationID string
	RequestID    string // chosen by the device; a retried take gets the same lease
	Host         string // the activation's host, shown to whom the pool refuses
	App          string
	// SecretHash is the hex SHA-256 of the lease secret, the bearer
	// credential of heartbeats and returns (the secret itself is never
	// stored).
	SecretHash    string
	CreatedAt     time.Time
	RenewedAt     time.Time // the last heartbeat (CreatedAt before the first)
	EndsAt        time.Time // the lease ends here unless renewed
	BorrowedUntil time.Time // zero unless borrowed (then EndsAt too)
	State         LeaseState
	EndedAt       time.Time // zero while active
}

// HeldAt reports whether the lease holds its seat at now.
func (l Lease) HeldAt(now time.Time) bool { return l.State == LeaseActive && now.Before(l.EndsAt) }

// Borrowed reports whether the lease is borrowed (no heartbeat, offline use).
func (l Lease) Borrowed() bool { return !l.BorrowedUntil.IsZero() }

// Field limits of lease requests.
const (
	LeaseSecretLen = 43 // 32 random bytes, unpadded base64url
	maxLeaseIDLen  = 64
)

// LeaseSecretHash is what the store keeps of a lease secret.
func LeaseSecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// LeaseRequest asks, signed by the device key, for a lease of the floating
// code the activation holds; with BorrowDays > 0 the lease is borrowed for
// that many days and comes with a device license bound to DevInfo (and
// Machine, see DeviceLicenseRequest) that ends with it.
type LeaseRequest struct {
	Signed
	RequestID  string
	App        string
	BorrowDays int
	DevInfo    string
	Machine    string
}

// LeaseGrant is a lease taken: the secret for its heartbeats and return
// (given once), the TTL and heartbeat interval, and for a borrow the device
// license.
type LeaseGrant struct {
	Lease     Lease
	Secret    string
	TTL       time.Duration
	Heartbeat time.Duration
	License   string
}

func (r LeaseRequest) check() error {
	if err := checkText("request id", r.RequestID, MinRequestIDLen, MaxRequestIDLen); err != nil {
		return err
	}
	if err := checkText("app", r.App, 0, MaxAppLen); err != nil {
		return err
	}
	if r.BorrowDays < 0 || r.BorrowDays > MaxBorrowDaysLimit {
		return fmt.Errorf("borrow days: %d, want 0..%d", r.BorrowDays, MaxBorrowDaysLimit)
	}
	if r.BorrowDays > 0 && r.DevInfo == "" {
		return errors.New("devinfo: a borrow needs the fingerprint its device license binds")
	}
	return nil
}

// TakeLease lends a seat of the pool of the activation's floating code
// (amount × seat_multiplier leases held at once). The same request id of the
// same activation gets the lease it took before, with a new secret. A full
// pool is refused with a Refusal (reason pool_full) naming the holders, from
// the earliest end, and that end.
func (s *Service) TakeLease(ctx context.Context, req LeaseRequest) (LeaseGrant, error) {
	const op = "lease"
	if err := req.check(); err != nil {
		return LeaseGrant{}, errs.E(op, errs.Invalid, err)
	}
	a, err := s.authenticate(ctx, op, req.Signed)
	if err != nil {
		return LeaseGrant{}, err
	}
	if err := heldRefusal(op, a); err != nil {
		return LeaseGrant{}, err
	}
	c, err := s.activationCode(ctx, op, a)
	if err != nil {
		return LeaseGrant{}, err
	}
	exact := s.now().UTC()
	now := exact.Truncate(time.Second)
	if err := c.usable(op, now); err != nil {
		return LeaseGrant{}, err
	}
	policy := s.cfg.product(c.ProductID)
	if !policy.Floating() {
		return LeaseGrant{}, errs.Errorf(op, errs.Invalid, "product %q is not floating: its activations hold their seats, no lease is needed", c.ProductID)
	}
	ends := ceilSecond(exact.Add(s.cfg.LeaseTTL))
	var borrowedUntil time.Time
	if req.BorrowDays > 0 {
		if max := policy.borrowDays(); req.BorrowDays > max {
			if max == 0 {
				return LeaseGrant{}, errs.Errorf(op, errs.Permission, "product %q allows no borrowing", c.ProductID)
			}
			return LeaseGrant{}, errs.Errorf(op, errs.Invalid, "borrow days: %d, product %q allows at most %d", req.BorrowDays, c.ProductID, max)
		}
		if err := s.machineMatch(op, a, req.DevInfo, true); err != nil {
			return LeaseGrant{}, err
		}
		if err := checkMachine(req.DevInfo, req.Machine); err != nil {
			return LeaseGrant{}, errs.E(op, errs.Invalid, err)
		}
		if !sameMachineID(a.MachineID, req.Machine) {
			return LeaseGrant{}, refuse(op, ReasonWrongMachine, "the OS machine id is not this activation's")
		}
		ends = now.Add(time.Duration(req.BorrowDays) * 24 * time.Hour)
		borrowedUntil = ends
	}
	if !c.ExpireTime.IsZero() && ends.After(c.ExpireTime) {
		ends = c.ExpireTime
		if !borrowedUntil.IsZero() {
			borrowedUntil = ends
		}
	}
	secret := newLeaseSecret()
	var got Lease
	var pool int
	err = s.store.Leases(ctx, a.CodeHash, func(tx LeaseTx) error {
		pool = s.cfg.product(tx.Code().ProductID).Seats(tx.Code().Amount)
		prev, ok, err := tx.ByRequest(ctx, a.ID, req.RequestID, now)
		if err != nil {
			return err
		}
		if ok {
			prev.SecretHash = LeaseSecretHash(secret)
			got = prev
			return tx.Update(ctx, prev)
		}
		held, err := tx.Held(ctx, now)
		if err != nil {
			return err
		}
		if held >= pool {
			holders, err := tx.Holders(ctx, now, maxHolders)
			if err != nil {
				return err
			}
			return poolFull(pool, held, holders)
		}
		got = Lease{ID: newLeaseID(), CodeHash: a.CodeHash, ActivationID: a.ID, RequestID: req.RequestID, Host: a.Host,
			App: req.App, SecretHash: LeaseSecretHash(secret), CreatedAt: now, RenewedAt: now, EndsAt: ends,
			BorrowedUntil: borrowedUntil, State: LeaseActive}
		return tx.Insert(ctx, got)
	})
	if err != nil {
		if errs.KindOf(err) != errs.Other {
			s.log.InfoContext(ctx, "lease refused", "code", CodeLabel(c.Code), "kind", errs.KindOf(err).Name(), "pool", pool)
			return LeaseGrant{}, err
		}
		return LeaseGrant{}, storeErr(op, err)
	}
	g := LeaseGrant{Lease: got, Secret: secret, TTL: s.cfg.LeaseTTL, Heartbeat: s.cfg.HeartbeatInterval}
	if got.Borrowed() {
		// The device license ends with the borrow: it works offline and
		// lapses by itself.
		if g.License, err = s.signDeviceLicense(op, c, req.DevInfo, req.Machine, got.BorrowedUntil, now); err != nil {
			return LeaseGrant{}, err
		}
	}
	s.log.InfoContext(ctx, "lease taken", "code", CodeLabel(c.Code), "lease", got.ID, "borrowed", got.Borrowed(), "pool", pool)
	return g, nil
}

// activationCode is the code of an activation, asked of the marketplace when
// the last answer is older than the query interval.
func (s *Service) activationCode(ctx context.Context, op string, a Activation) (Code, error) {
	stored, err := s.store.Code(ctx, a.CodeHash)
	if err != nil {
		return Code{}, storeErr(op, err)
	}
	return s.code(ctx, op, stored.Code, a.CodeHash)
}

// Heartbeat renews a lease for another TTL from now, authenticated by its
// secret (one database write; see SECURITY.md), and returns its new end.
// A lease past its end, returned, of an activation that lost its seat or of
// a code no longer usable is refused with the reason.
func (s *Service) Heartbeat(ctx context.Context, id, secret string) (time.Time, error) {
	const op = "heartbeat"
	if err := checkLeaseAuth(id, secret); err != nil {
		return time.Time{}, errs.E(op, errs.Invalid, err)
	}
	now := s.now().UTC()
	until := ceilSecond(now.Add(s.cfg.LeaseTTL))
	ok, err := s.store.Heartbeat(ctx, id, LeaseSecretHash(secret), now, until)
	if err != nil {
		return time.Time{}, storeErr(op, err)
	}
	if ok {
		return until, nil
	}
	l, err := s.leaseBySecret(ctx, op, id, secret)
	if err != nil {
		return time.Time{}, err
	}
	return time.Time{}, s.whyNotRenewed(ctx, op, l, now)
}

// whyNotRenewed explains a heartbeat the store did not apply.
func (s *Service) whyNotRenewed(ctx context.Context, op string, l Lease, now time.Time) error {
	if l.State == LeaseEnded {
		// Ended with its activation: say why that ended (revoked, with
		// support's note; deactivated; moved).
		if a, err := s.store.Activation(ctx, l.ActivationID); err == nil {
			if err := heldRefusal(op, a); err != nil {
				return err
			}
		}
	}
	if err := leaseEnded(op, l, now); err != nil {
		return err
	}
	if l.Borrowed() {
		return errs.Errorf(op, errs.Invalid, "lease %s is borrowed until %s: it needs no heartbeat", l.ID, l.BorrowedUntil.Format(time.RFC3339))
	}
	a, err := s.store.Activation(ctx, l.ActivationID)
	if err != nil {
		return storeErr(op, err)
	}
	if err := heldRefusal(op, a); err != nil {
		return err
	}
	c, err := s.store.Code(ctx, l.CodeHash)
	if err != nil {
		return storeErr(op, err)
	}
	if err := c.usable(op, now); err != nil {
		return err
	}
	// Changed between the write and these reads: the holder tries again.
	return errs.Errorf(op, errs.Unavailable, "lease %s changed while renewing it; try again", l.ID)
}

// leaseEnded says why a lease holds no seat at now, or nil.
func leaseEnded(op string, l Lease, now time.Time) error {
	switch {
	case l.State == LeaseReturned:
		return refuse(op, ReasonLeaseEnded, "lease %s was returned at %s: take a new one", l.ID, l.EndedAt.Format(time.RFC3339))
	case l.State == LeaseEnded:
		return refuse(op, ReasonLeaseEnded, "lease %s ended at %s with its activation (deactivated or revoked)", l.ID, l.EndedAt.Format(time.RFC3339))
	case l.State != LeaseActive || !now.Before(l.EndsAt):
		return refuse(op, ReasonLeaseEnded, "lease %s ended at %s (not renewed in time): take a new one", l.ID, l.EndsAt.Format(time.RFC3339))
	}
	return nil
}

// ReturnLease gives a lease back to its pool, authenticated by its secret.
// A lease that has ended already is left as it is: returning twice is fine.
func (s *Service) ReturnLease(ctx context.Context, id, secret string) error {
	const op = "return lease"
	if err := checkLeaseAuth(id, secret); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	if _, err := s.leaseBySecret(ctx, op, id, secret); err != nil {
		return err
	}
	ended, err := s.store.EndLease(ctx, id, LeaseReturned, s.now().UTC())
	if err != nil {
		return storeErr(op, err)
	}
	if ended {
		s.log.InfoContext(ctx, "lease returned", "lease", id)
	}
	return nil
}

// leaseBySecret loads a lease and checks its secret (constant time).
func (s *Service) leaseBySecret(ctx context.Context, op, id, secret string) (Lease, error) {
	l, err := s.store.Lease(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Lease{}, errs.Errorf(op, errs.NotExist, "no lease %s on this server", id)
	}
	if err != nil {
		return Lease{}, storeErr(op, err)
	}
	if subtle.ConstantTimeCompare([]byte(l.SecretHash), []byte(LeaseSecretHash(secret))) != 1 {
		return Lease{}, errs.Errorf(op, errs.Permission, "wrong secret for lease %s", id)
	}
	return l, nil
}

func checkLeaseAuth(id, secret string) error {
	if err := checkText("lease id", id, 1, maxLeaseIDLen); err != nil {
		return err
	}
	if len(secret) != LeaseSecretLen {
		return fmt.Errorf("lease secret: want %d characters", LeaseSecretLen)
	}
	return nil
}

// ReapLeases marks the leases past their end expired (their seats are free
// from their end on anyway) and returns how many.
func (s *Service) ReapLeases(ctx context.Context) (int, error) {
	n, err := s.store.ReapLeases(ctx, s.now().UTC())
	if err != nil {
		return 0, storeErr("reap leases", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "leases expired", "count", n)
	}
	return n, nil
}

// CodeLeases lists the leases of a code held now (support's view).
func (s *Service) CodeLeases(ctx context.Context, codeHash string) ([]Lease, error) {
	l, err := s.store.LeasesOfCode(ctx, codeHash, s.now().UTC())
	return l, storeErr("leases", err)
}

// poolFull is the refusal of a full pool: the holders from the earliest end
// and that end.
func poolFull(pool, held int, holders []Lease) error {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d floating seats of this license are in use:", pool)
	hs := make([]Holder, len(holders))
	for i, l := range holders {
		hs[i] = Holder{Host: l.Host, ActivatedAt: l.CreatedAt.UTC(), Until: l.EndsAt.UTC()}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (since %s)", l.Host, l.CreatedAt.UTC().Format(time.RFC3339))
	}
	if held > len(holders) {
		fmt.Fprintf(&b, " and %d more", held-len(holders))
	}
	r := &Refusal{Reason: ReasonPoolFull, Seats: pool, Holders: hs}
	if len(holders) > 0 {
		r.EarliestEnd = holders[0].EndsAt.UTC()
		fmt.Fprintf(&b, "; the earliest lease ends at %s unless renewed", r.EarliestEnd.Format(time.RFC3339))
	}
	r.Message = b.String()
	return errs.E("lease", reasonKinds[ReasonPoolFull], r)
}

// ceilSecond rounds t up to a whole second (the wire's times have
// seconds): a lease never gets less than its TTL.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// newLeaseID is a lease id: "lease_" and 128 random bits in hex.
func newLeaseID() string { return "lease_" + newID()[len("act_"):] }

func newLeaseSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
