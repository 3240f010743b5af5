package licensing

import (
	"errors"
	"fmt"
)

// Kind classifies every failure of the license domain, local or remote. Every
// marketplace result code and every local failure maps to one Kind in one
// place (the marketplace client's result table, the store, the validation
// rules); the CLI maps kinds to exit codes in one place and the desktop app to
// messages in one place.
type Kind int

// The kinds. Keep this list small: callers branch on it.
const (
	Other         Kind = iota // an unexpected failure (a bug, or an answer that should not happen)
	Invalid                   // malformed input from the user: a license code of the wrong form
	NotFound                  // the license code does not exist
	NotDelivered              // the license code has not been delivered to the buyer yet
	NotActivated              // no activation: the code is not activated, or nothing is cached here
	Expired                   // the license has expired
	Released                  // the license was released (refunded)
	WrongMachine              // the authorization is bound to another machine
	ClockRollback             // the clock was set back
	Tampered                  // the cached record was edited or is not sealed for this machine
	GraceExpired              // offline for longer than the grace period
	Unavailable               // the marketplace could not be reached (network, timeout, 5xx, transient codes)
	Protocol                  // the marketplace answered something that cannot be understood
	Credentials               // the marketplace rejected the AK/SK (or none are configured)
	Storage                   // the OS keyring or its fallback failed
)

var kindNames = [...]string{
	Other:         "internal error",
	Invalid:       "invalid input",
	NotFound:      "license code does not exist",
	NotDelivered:  "license not delivered yet",
	NotActivated:  "license not activated",
	Expired:       "license expired",
	Released:      "license released",
	WrongMachine:  "bound to another machine",
	ClockRollback: "clock set back",
	Tampered:      "authorization record tampered with",
	GraceExpired:  "offline grace period over",
	Unavailable:   "marketplace unreachable",
	Protocol:      "bad answer from the marketplace",
	Credentials:   "credentials rejected",
	Storage:       "secure storage failed",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is the error type of the license domain.
type Error struct {
	Op   string // the operation, e.g. "activate", "query", "store.load"
	Kind Kind
	// Code is the marketplace result code (e.g. "92020005", "APIGW.0301") or
	// the HTTP status as "HTTP 502"; empty for local failures.
	Code string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Kind.String()
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error.
func E(op string, kind Kind, err error) *Error { return &Error{Op: op, Kind: kind, Err: err} }

// KindOf returns the Kind of the first *Error in err's chain, Other when there
// is none, or Other for nil (callers check nil first).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// IsKind reports whether err's kind is k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
