// Package errs is the one error model of iscdesk: every layer (licensing,
// apps, the agent, the keyring stores, the CLI and the window) reports a
// failure as an *Error carrying a Kind, the operation that failed and the
// underlying error.
//
// Callers branch on the Kind (errs.KindOf), people read the message. The
// kind is pulled up through wrapping, as Upspin's errors.E does: an *Error
// built with kind Other around another *Error takes that error's kind, so a
// layer can add its operation without losing why the call failed.
//
// Kinds become exit codes in one place (cmd/iscdesk/exit.go), window messages
// in one place (ui/messages.go), and the machine-readable "kind" of failed SDK
// events through Kind.Name. This package imports only the standard library.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies a failure. Keep the list small: callers branch on it.
type Kind uint8

// The kinds. Their Name is part of the local protocol (failed SDK events carry
// it) and of the documentation: never renumber or rename one.
const (
	Other         Kind = iota // an unexpected failure: a bug, or an answer that should not happen
	Invalid                   // malformed input: a license code, an argument, a request
	NotFound                  // the license code does not exist
	NotDelivered              // the license code has not been delivered to the buyer yet
	NotActivated              // no activation: the code is not activated, or nothing is cached here
	Expired                   // the license has expired
	Released                  // the license was released (refunded)
	WrongMachine              // the authorization is bound to another machine
	ClockRollback             // the clock was set back
	Tampered                  // a cached record was edited or is not sealed for this machine
	GraceExpired              // offline for longer than the grace period
	Unavailable               // a remote service could not be reached (network, timeout, 5xx, transient codes)
	Protocol                  // a remote service or peer answered something that cannot be understood
	Credentials               // credentials were rejected, or none are configured
	Storage                   // the OS keyring or its fallback failed
	NotExist                  // a named thing does not exist: an installed package, a cloud file
	Integrity                 // data failed a check: checksum mismatch, unsafe or damaged archive, too large
	Failed                    // an external step this program ran failed: a vendor script, a solver
	Permission                // the caller may not do this: another user's socket, a locked setting
	Busy                      // another process or call holds what this needs
	Canceled                  // the caller gave up (context canceled, Ctrl-C)
	numKinds
)

var kinds = [numKinds]struct{ name, text string }{
	Other:         {"internal", "internal error"},
	Invalid:       {"invalid", "invalid input"},
	NotFound:      {"not_found", "license code does not exist"},
	NotDelivered:  {"not_delivered", "license not delivered yet"},
	NotActivated:  {"not_activated", "license not activated"},
	Expired:       {"expired", "license expired"},
	Released:      {"released", "license released"},
	WrongMachine:  {"wrong_machine", "bound to another machine"},
	ClockRollback: {"clock_rollback", "clock set back"},
	Tampered:      {"tampered", "authorization record tampered with"},
	GraceExpired:  {"grace_expired", "offline grace period over"},
	Unavailable:   {"unavailable", "service unreachable"},
	Protocol:      {"protocol", "bad answer from the other side"},
	Credentials:   {"credentials", "credentials rejected"},
	Storage:       {"storage", "secure storage failed"},
	NotExist:      {"not_exist", "does not exist"},
	Integrity:     {"integrity", "integrity check failed"},
	Failed:        {"failed", "external step failed"},
	Permission:    {"permission", "permission denied"},
	Busy:          {"busy", "busy"},
	Canceled:      {"canceled", "canceled"},
}

// String is the kind in a few words, for messages.
func (k Kind) String() string {
	if k < numKinds {
		return kinds[k].text
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Name is the kind's stable machine-readable name ("expired", "integrity"):
// the "kind" of failed SDK events and of JSON output.
func (k Kind) Name() string {
	if k < numKinds {
		return kinds[k].name
	}
	return "internal"
}

// ParseKind returns the kind whose Name is name, and false for an unknown name.
func ParseKind(name string) (Kind, bool) {
	for k := range numKinds {
		if kinds[k].name == name {
			return k, true
		}
	}
	return Other, false
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for k := range numKinds {
		out[k] = k
	}
	return out
}

// Error is the error type of every layer.
type Error struct {
	Op   string // the operation that failed, e.g. "activate", "app.install", "store.load"
	Kind Kind
	// Code is a remote service's result code (e.g. "92020005", "APIGW.0301")
	// or its HTTP status as "HTTP 502"; empty for local failures.
	Code string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string {
	s := e.Op
	var inner *Error
	nested := errors.As(e.Err, &inner) && inner == e.Err
	if !nested || e.Kind != inner.Kind {
		if s != "" {
			s += ": "
		}
		s += e.Kind.String()
	}
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error. With kind Other, the kind is taken from the first
// *Error in err's chain, so wrapping never loses it.
func E(op string, kind Kind, err error) *Error {
	if kind == Other {
		kind = KindOf(err)
	}
	return &Error{Op: op, Kind: kind, Err: err}
}

// Errorf builds an *Error whose underlying error is fmt.Errorf(format, a...).
func Errorf(op string, kind Kind, format string, a ...any) *Error {
	return E(op, kind, fmt.Errorf(format, a...))
}

// KindOf returns the first kind other than Other in err's chain, and Other
// when there is none (or err is nil: callers check nil first).
func KindOf(err error) Kind {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Kind != Other {
			return e.Kind
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if k := KindOf(inner); k != Other {
					return k
				}
			}
			return Other
		default:
			return Other
		}
	}
	return Other
}

// Is reports whether err is not nil and its kind is k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// CodeOf returns the first remote result code in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Code != "" {
			return e.Code
		}
		err = e.Err
	}
	return ""
}
