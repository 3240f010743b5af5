package server

import (
	"crypto/ed25519"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
)

// Code is what the server knows of a license code: the marketplace's last
// answer about it and when that came.
type Code struct {
	Code         string // the code itself (the server queries it upstream)
	Hash         string // activation.CodeHash(Code): how tokens and logs name it
	Status       licensing.Status
	ProductID    string
	OrderID      string
	Amount       float64
	ExpireTime   time.Time // zero when the marketplace gave none
	ActivateTime time.Time
	QueriedAt    time.Time // the last successful marketplace answer
	CreatedAt    time.Time
}

// usable returns the refusal for a code that may not be used at now, or nil.
func (c Code) usable(op string, now time.Time) error {
	switch {
	case c.Status == licensing.StatusReleased:
		return refuse(op, ReasonReleased, "the license code was released (refunded); activations of it stop")
	case c.Status == licensing.StatusExpired || !c.ExpireTime.IsZero() && !now.Before(c.ExpireTime):
		return refuse(op, ReasonExpired, "the license code expired at %s", c.ExpireTime.UTC().Format(time.RFC3339))
	case c.Status != licensing.StatusAlive:
		return refuse(op, ReasonUnknownStatus, "the marketplace reports the license code as %q", c.Status)
	}
	return nil
}

// State is the state of an activation.
type State string

// The states. Only StateActive holds a seat.
const (
	StateActive      State = "active"
	StateDeactivated State = "deactivated" // freed by the device (signed deactivate)
	StateRevoked     State = "revoked"     // freed by support
	StateReplaced    State = "replaced"    // the same machine activated again with a new device key
)

// CodeCount is a code and how many of its activations hold a seat.
type CodeCount struct {
	Code
	Bound int
}

// Activation binds one seat of a code to one device.
type Activation struct {
	ID          string
	CodeHash    string
	RequestID   string // the request id of the activate call that created it
	Fingerprint string // MAC|disk|board|CPU, updated when a check reports a tolerated change
	MachineID   string // the protected OS machine id, for a fingerprint with a single unit part
	DeviceKey   ed25519.PublicKey
	Host        string
	App         string
	Version     string
	State       State
	CreatedAt   time.Time
	LastCheckAt time.Time // zero before the first check
	EndedAt     time.Time // zero while active
	EndNote     string    // who ended it and why (support's reason)
}

// Holder names the device holding a seat, in a seats-full refusal.
type Holder struct {
	Host        string    `json:"host"`
	ActivatedAt time.Time `json:"activated_at"`   // for a lease: when it was taken
	Until       time.Time `json:"until,omitzero"` // a lease's end unless renewed
}

// Usage is the distinct devices that checked a code on one UTC day.
type Usage struct {
	CodeHash    string
	Code        string
	ProductID   string
	Day         string   // YYYY-MM-DD, UTC
	Activations []string // activation ids
}
