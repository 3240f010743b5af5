package sdk

import "errors"

// Errors of the client. Test them with errors.Is: the errors returned wrap
// them together with the cause (a frame error, a network error, an RPCError).
var (
	// ErrDisconnected: the connection to the agent is down. A call in flight
	// when it dropped, or made while the client could not reconnect within
	// the reconnect wait, fails with it; the client keeps reconnecting in the
	// background, so a later call may succeed.
	ErrDisconnected = errors.New("sdk: not connected to the desktop client")
	// ErrClosed: the client was closed (Close, the published ShutOut).
	ErrClosed = errors.New("sdk: client closed")
	// ErrRefused: the agent understood the call and will not do it
	// (CodeRefused); the wrapped *RPCError says why. Other error answers
	// (invalid params, unknown method) wrap only the *RPCError.
	ErrRefused = errors.New("sdk: refused by the desktop client")
	// ErrOperationFailed: the agent accepted the call but its final event
	// reports status "failed". The error is an *OperationError carrying the
	// event and its reason.
	ErrOperationFailed = errors.New("sdk: operation failed")
	// ErrProtocol: the agent answered something this package cannot use (an
	// acceptance without a request id, a result of the wrong shape).
	ErrProtocol = errors.New("sdk: protocol error")
)

// OperationError is the error of a synchronous helper whose final event
// reports a failure.
type OperationError struct {
	// Event is the final event as received.
	Event Event
}

// Reason is the failure's reason as the agent gave it (params "reason").
func (e *OperationError) Reason() string { return e.Event.Params[ReasonKey] }

// KindKey is the params key under which a failed event gives the kind of
// failure: a stable machine-readable name a program can branch on, where
// ReasonKey's text is for people. The names (PROTOCOL.md lists them too):
//
//	invalid         the request cannot be carried out as given: a bad path or
//	                name, a folder where a file is needed, not an assembly
//	not_exist       what the call names does not exist: a missing file to
//	                save or solve, a missing cloud drive entry, an empty
//	                cloud drive
//	integrity       a check failed: the saved copy does not verify, a
//	                downloaded package's SHA-256 is wrong
//	failed          an external step failed: the solver exited with an
//	                error, timed out or could not start
//	busy            try again later: the file changed while it was being
//	                saved (the program was still writing it)
//	canceled        the call was stopped (the user closed the file list, the
//	                agent is shutting down)
//	unavailable     a service or hook cannot be reached or is not configured
//	                (no solver, no update manifest, the marketplace is down)
//	permission      the agent may not do it (a file it may not read)
//	protocol        another service answered something the agent cannot use
//	not_activated, expired, released, wrong_machine, clock_rollback,
//	tampered, grace_expired, not_found, not_delivered, credentials, storage
//	                why no device license can be issued (the license's state,
//	                as the desktop client's status command reports it)
//	internal        anything else
//
// Programs must treat a name they do not know as "internal": later agents may
// add kinds.
const KindKey = "kind"

// Kind is the failure's kind as the agent gave it (params "kind", see
// KindKey), or "" from an agent too old to give one.
func (e *OperationError) Kind() string { return e.Event.Params[KindKey] }

func (e *OperationError) Error() string {
	reason := e.Reason()
	if reason == "" {
		reason = "no reason given"
	}
	return "sdk: " + e.Event.Operate + " failed: " + reason
}

// Unwrap makes errors.Is(err, ErrOperationFailed) hold.
func (e *OperationError) Unwrap() error { return ErrOperationFailed }
