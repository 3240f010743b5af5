package server

import (
	"context"
	"time"
)

// LeaseStore keeps the leases of floating codes. Store embeds it.
type LeaseStore interface {
	// Leases runs fn in one transaction holding the lock of the code (the
	// lock Seats takes): lease changes of one code never interleave,
	// whichever process makes them. fn's error rolls back and is returned.
	Leases(ctx context.Context, codeHash string, fn func(LeaseTx) error) error
	// Lease returns a lease by id, or ErrNotFound.
	Lease(ctx context.Context, id string) (Lease, error)
	// LeasesOfCode lists a code's leases held at now (not ended, not past
	// their end), the earliest end first.
	LeasesOfCode(ctx context.Context, codeHash string, now time.Time) ([]Lease, error)
	// HeldLeases counts the leases held at now, by code hash (codes
	// without any are left out).
	HeldLeases(ctx context.Context, now time.Time) (map[string]int, error)
	// Heartbeat renews, in one statement, the lease id whose secret hashes
	// to secretHash, when it is held at now (active, not past its end, not
	// borrowed) and its activation still holds its seat and its code is
	// alive and unexpired at now: its end becomes until. It reports
	// whether it did; the caller explains a false.
	Heartbeat(ctx context.Context, id, secretHash string, now, until time.Time) (bool, error)
	// EndLease ends the lease id in state (LeaseReturned) at at, when it is
	// active; it reports whether it was.
	EndLease(ctx context.Context, id string, state LeaseState, at time.Time) (bool, error)
	// EndLeasesOf ends every active lease of an activation in state at at
	// and returns how many.
	EndLeasesOf(ctx context.Context, activationID string, state LeaseState, at time.Time) (int, error)
	// ReapLeases marks every active lease past its end at now
	// LeaseExpired and returns how many.
	ReapLeases(ctx context.Context, now time.Time) (int, error)
}

// LeaseTx is the view of one locked code inside LeaseStore.Leases.
type LeaseTx interface {
	// Code is the locked code as the database holds it.
	Code() Code
	// Held counts the code's leases held at now.
	Held(ctx context.Context, now time.Time) (int, error)
	// Holders lists at most n of the code's leases held at now, the
	// earliest end first.
	Holders(ctx context.Context, now time.Time, n int) ([]Lease, error)
	// ByRequest returns the lease held at now that the activation took with
	// this request id; ok is false when there is none.
	ByRequest(ctx context.Context, activationID, requestID string, now time.Time) (l Lease, ok bool, err error)
	// Insert adds a lease; Update changes one (by id).
	Insert(ctx context.Context, l Lease) error
	Update(ctx context.Context, l Lease) error
}
