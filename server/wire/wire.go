// Package wire holds the shapes of the vendor license server's /v1 API on
// the wire (docs/server-api.md): request and answer bodies, the error body,
// the signature header. The server (server/httpapi) and the desktop's client
// (server/client) share them; it imports only the standard library, so the
// desktop gets them without the server.
package wire

import "time"

// Paths of the API.
const (
	PathActivate      = "/v1/activate"
	PathCheck         = "/v1/check"
	PathDeactivate    = "/v1/deactivate"
	PathDeviceLicense = "/v1/device-license"
	PathKeys          = "/v1/keys"
	// Floating seats: take (or borrow) a lease, signed by the device key;
	// renew and return it with its secret (LeaseSecretHeader).
	PathLeases         = "/v1/leases"
	PathLeaseHeartbeat = "/v1/leases/{id}/heartbeat"
	PathLeaseReturn    = "/v1/leases/{id}/return"
)

// LeaseSecretHeader carries a lease's secret on its heartbeat and return.
const LeaseSecretHeader = "Iscdesk-Lease-Secret"

// LeasePath is a lease route (PathLeaseHeartbeat, PathLeaseReturn) for id.
func LeasePath(pattern, id string) string {
	return PathLeases + "/" + id + pattern[len(PathLeases+"/{id}"):]
}

// LeaseRequest is the body of POST /v1/leases.
type LeaseRequest struct {
	Signed
	RequestID string `json:"request_id"` // a retry sends the same
	App       string `json:"app,omitempty"`
	// BorrowDays > 0 borrows the lease for that many days: no heartbeat,
	// and the answer carries a device license bound to DevInfo (and
	// Machine) that ends with the borrow.
	BorrowDays int    `json:"borrow_days,omitempty"`
	DevInfo    string `json:"devinfo,omitempty"`
	Machine    string `json:"machine,omitempty"`
}

// LeaseAnswer is the body of a lease taken.
type LeaseAnswer struct {
	LeaseID          string    `json:"lease_id"`
	Secret           string    `json:"secret"` // for heartbeats and the return; given once
	EndsAt           time.Time `json:"ends_at"`
	TTLSeconds       int       `json:"ttl_seconds"`
	HeartbeatSeconds int       `json:"heartbeat_seconds"`
	BorrowedUntil    time.Time `json:"borrowed_until,omitzero"`
	License          string    `json:"license,omitempty"` // borrowed only
}

// HeartbeatAnswer is the body of a lease renewed.
type HeartbeatAnswer struct {
	EndsAt time.Time `json:"ends_at"`
}

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 64 << 10

// SignatureHeader carries the device key's Ed25519 signature (standard
// base64) over the exact body bytes of a signed request.
const SignatureHeader = "Iscdesk-Signature"

// ActivateRequest is the body of POST /v1/activate.
type ActivateRequest struct {
	Code        string `json:"code"`
	Fingerprint string `json:"fingerprint"`
	DeviceKey   string `json:"device_key"` // standard base64 Ed25519 public key
	Host        string `json:"host"`
	App         string `json:"app"`
	Version     string `json:"version"`
	RequestID   string `json:"request_id"`
	// Machine is the protected OS machine id (64 lower-case hex digits,
	// package fingerprint/osid), sent when the fingerprint names a single
	// network card, disk or board: the token then binds it as "mid", and a
	// clone of the machine with another id is another machine.
	Machine string `json:"machine,omitempty"`
}

// Signed is what every signed request's body carries.
type Signed struct {
	ActivationID string `json:"activation_id"`
	Time         string `json:"time"` // RFC 3339, within 5 minutes of the server's clock
	Nonce        string `json:"nonce"`
}

// CheckRequest is the body of POST /v1/check and POST /v1/deactivate
// (which ignores Fingerprint).
type CheckRequest struct {
	Signed
	Fingerprint string `json:"fingerprint,omitempty"`
}

// DeviceLicenseRequest is the body of POST /v1/device-license.
type DeviceLicenseRequest struct {
	Signed
	DevInfo  string `json:"devinfo"`
	NotAfter string `json:"not_after,omitempty"` // RFC 3339
	// Machine is the protected OS machine id (64 lower-case hex digits,
	// package fingerprint/osid) the license also binds, as its "mid"
	// claim: required when DevInfo names a single network card, disk or
	// board, sent only then.
	Machine string `json:"machine,omitempty"`
	// LeaseID names the lease held for the program: required for a
	// floating product, whose device licenses end with their lease.
	LeaseID string `json:"lease_id,omitempty"`
}

// ActivateAnswer is the body of a successful activate.
type ActivateAnswer struct {
	Token        string `json:"token"`
	ActivationID string `json:"activation_id"`
}

// TokenAnswer is the body of a successful check.
type TokenAnswer struct {
	Token string `json:"token"`
}

// LicenseAnswer is the body of a successful device-license.
type LicenseAnswer struct {
	License string `json:"license"`
}

// Key is one published vendor key.
type Key struct {
	Kid         string     `json:"kid"`
	PublicKey   string     `json:"public_key"` // standard base64
	NotAfter    *time.Time `json:"not_after,omitempty"`
	Endorsement string     `json:"endorsement,omitempty"` // by the key before it
	Current     bool       `json:"current,omitempty"`
}

// KeysAnswer is the body of GET /v1/keys.
type KeysAnswer struct {
	Keys []Key `json:"keys"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what failed: the kind (internal/errs names), a reason
// for refusals of the license, a sentence, and for a full code its seats
// and their holders.
type ErrorDetail struct {
	Kind    string   `json:"kind"`
	Reason  string   `json:"reason,omitempty"`
	Message string   `json:"message"`
	Seats   int      `json:"seats,omitempty"`
	Holders []Holder `json:"holders,omitempty"`
	// EarliestEnd is when the first lease of a full pool ends unless
	// renewed (reason pool_full).
	EarliestEnd time.Time `json:"earliest_end,omitzero"`
}

// Holder names a device holding a seat.
type Holder struct {
	Host        string    `json:"host"`
	ActivatedAt time.Time `json:"activated_at"`   // a lease: when it was taken
	Until       time.Time `json:"until,omitzero"` // a lease: its end unless renewed
}

// Reasons of refusals (ErrorDetail.Reason).
const (
	ReasonSeatsFull    = "seats_full"
	ReasonDeactivated  = "deactivated"
	ReasonRevoked      = "revoked"
	ReasonMoved        = "moved"
	ReasonReleased     = "released"
	ReasonExpired      = "expired"
	ReasonWrongMachine = "wrong_machine"
	ReasonRateLimited  = "rate_limited"
	ReasonPoolFull     = "pool_full"
	ReasonLeaseEnded   = "lease_ended"
	ReasonNoLease      = "no_lease"
)
