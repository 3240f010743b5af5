package server

import (
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Reasons of a Refusal: machine-readable, stable (the API carries them, the
// desktop shows its own sentence for each).
const (
	ReasonSeatsFull     = "seats_full"
	ReasonDeactivated   = "deactivated"
	ReasonRevoked       = "revoked"
	ReasonMoved         = "moved"
	ReasonReleased      = "released"
	ReasonExpired       = "expired"
	ReasonUnknownStatus = "status"
	ReasonWrongMachine  = "wrong_machine"
	// Floating seats.
	ReasonPoolFull   = "pool_full"   // every lease of the pool is held
	ReasonLeaseEnded = "lease_ended" // the lease was returned or not renewed in time
	ReasonNoLease    = "no_lease"    // a floating product's device license needs a lease held
)

// reasonKinds gives each reason its error kind (the one table; the kinds
// become exit codes and messages on the desktop).
var reasonKinds = map[string]errs.Kind{
	ReasonSeatsFull:     errs.NotActivated,
	ReasonDeactivated:   errs.NotActivated,
	ReasonRevoked:       errs.NotActivated,
	ReasonMoved:         errs.WrongMachine,
	ReasonWrongMachine:  errs.WrongMachine,
	ReasonReleased:      errs.Released,
	ReasonExpired:       errs.Expired,
	ReasonUnknownStatus: errs.Protocol,
	ReasonPoolFull:      errs.NotActivated,
	ReasonLeaseEnded:    errs.NotActivated,
	ReasonNoLease:       errs.NotActivated,
}

// Refusal says why a license may not be used: the reason, a sentence, and
// for a full code its seat count and holders. It is wrapped in an *errs.Error
// of the reason's kind.
type Refusal struct {
	Reason  string
	Message string
	Seats   int      // seats_full and pool_full only
	Holders []Holder // seats_full and pool_full only
	// EarliestEnd is when the first lease of a full pool ends unless
	// renewed (pool_full only).
	EarliestEnd time.Time
}

func (r *Refusal) Error() string { return r.Message }

func refuse(op, reason, format string, a ...any) error {
	return errs.E(op, reasonKinds[reason], &Refusal{Reason: reason, Message: fmt.Sprintf(format, a...)})
}

// maxHolders bounds the holders a seats-full refusal names.
const maxHolders = 20

func seatsFull(seats, bound int, holders []Holder) error {
	msg := fmt.Sprintf("all %d seats of this license are in use:", seats)
	for i, h := range holders {
		if i > 0 {
			msg += ","
		}
		msg += fmt.Sprintf(" %s (activated %s)", h.Host, h.ActivatedAt.UTC().Format(time.DateOnly))
	}
	if bound > len(holders) {
		msg += fmt.Sprintf(" and %d more", bound-len(holders))
	}
	msg += "; free one by running `iscdesk deactivate` on that machine, or ask the vendor's support to revoke it"
	return errs.E("activate", errs.NotActivated, &Refusal{Reason: ReasonSeatsFull, Message: msg, Seats: seats, Holders: holders})
}
