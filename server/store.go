package server

import (
	"context"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/licensing"
)

// Errors a Store returns, tested with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrReplay   = errors.New("nonce used before")
)

// Store keeps codes, activations, nonces and usage. Every method takes a
// context and is safe for concurrent use, also by several processes sharing
// one database.
type Store interface {
	// LeaseStore: the leases of floating codes (store_leases.go).
	LeaseStore
	// CallbackStore: the marketplace's callbacks (store_callbacks.go).
	CallbackStore

	// Code returns the code with this hash, or ErrNotFound.
	Code(ctx context.Context, hash string) (Code, error)
	// PutCode inserts or updates a code (by hash), keeping CreatedAt.
	PutCode(ctx context.Context, c Code) error
	// Codes lists every code, by creation, with the number of its active
	// activations (counted by the database: no activation is loaded).
	Codes(ctx context.Context) ([]CodeCount, error)

	// Activation returns an activation by id, or ErrNotFound.
	Activation(ctx context.Context, id string) (Activation, error)
	// Activations lists activations, newest first; codeHash "" lists all.
	Activations(ctx context.Context, codeHash string) ([]Activation, error)

	// Seats runs fn in one transaction holding the lock of the code: seat
	// changes of one code never interleave, whichever process makes them.
	// fn's error rolls the transaction back and is returned.
	Seats(ctx context.Context, codeHash string, fn func(SeatTx) error) error

	// Checked records a successful check of an activation at at, in one
	// transaction: its nonce (ErrReplay, and nothing else changes, when
	// seen before; nonces older than before are forgotten), its last check
	// time and its use of the code on at's UTC day.
	Checked(ctx context.Context, a Activation, nonce string, at, before time.Time) error

	// UseNonce records nonce for the activation; ErrReplay when it was
	// recorded before. Nonces older than before are forgotten.
	UseNonce(ctx context.Context, activationID, nonce string, at, before time.Time) error

	// PendingUsage lists the days before day (YYYY-MM-DD) with usage not
	// yet reported. MarkReported marks one reported and forgets its
	// devices.
	PendingUsage(ctx context.Context, day string) ([]Usage, error)
	MarkReported(ctx context.Context, codeHash, day string, at time.Time) error

	// ClaimUpstream claims the right to ask the marketplace about a code:
	// true when no one holds the claim, or the holder's is older than
	// staleBefore (it died). ReleaseUpstream gives it back. Replicas use it
	// so that one of them asks while the others wait for the answer.
	ClaimUpstream(ctx context.Context, hash string, now, staleBefore time.Time) (bool, error)
	ReleaseUpstream(ctx context.Context, hash string) error

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// SeatTx is the view of one locked code inside Store.Seats. Its lookups
// are indexed, so binding a seat does not read every activation of a code
// with thousands of seats.
type SeatTx interface {
	// Code is the locked code as the database holds it.
	Code() Code
	// Count is the number of the code's active activations.
	Count(ctx context.Context) (int, error)
	// ByRequest returns the code's active activation made by the activate
	// request with this id; ok is false when there is none.
	ByRequest(ctx context.Context, requestID string) (a Activation, ok bool, err error)
	// Candidates lists the code's active activations whose fingerprint
	// devinfo.Compare could find the same machine as c: every one that
	// shares a value with c in some part (a superset; the caller compares),
	// oldest first.
	Candidates(ctx context.Context, c devinfo.Components) ([]Activation, error)
	// Oldest lists at most n of the code's active activations, oldest
	// first.
	Oldest(ctx context.Context, n int) ([]Activation, error)
	// Get returns one activation of the code (any state), or ErrNotFound.
	Get(ctx context.Context, id string) (Activation, error)
	// Insert adds an activation; Update changes one (by id).
	Insert(ctx context.Context, a Activation) error
	Update(ctx context.Context, a Activation) error

	OfflineTx
}

// Marketplace is the upstream license API (licensing/marketplace.Client).
type Marketplace interface {
	// Activate activates a code (idempotent upstream: an active code is
	// confirmed with a query).
	Activate(ctx context.Context, code string) (licensing.License, error)
	// Query asks for the state of an activated code.
	Query(ctx context.Context, code string) (licensing.License, error)
	// ReportUsage reports a day's use of a code: ids when not empty,
	// otherwise count (active_num).
	ReportUsage(ctx context.Context, code string, ids []string, count int) error
}
