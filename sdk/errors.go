package sdk

import (
	"errors"

	"github.com/iscdesk/iscdesk/protocol"
)

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
	// ErrNotPrivate: the socket is not private to this user, so it may not
	// be the desktop client's: its folder belongs to another user or others
	// may enter it, or the process listening runs as another user. The
	// client sent nothing on it. Connect fails with it, and so does a
	// reconnect (the client keeps trying: the agent may take its place back).
	ErrNotPrivate = errors.New("sdk: the desktop client's socket is not private to this user")
)

// OperationError is the error of a synchronous helper whose final event
// reports a failure.
type OperationError struct {
	// Event is the final event as received.
	Event protocol.Event
}

// Reason is the failure's reason as the agent gave it (params "reason").
func (e *OperationError) Reason() string { return e.Event.Params[protocol.ReasonKey] }

// Kind is the failure's kind as the agent gave it (params "kind",
// protocol.KindKey): a stable machine name a program can branch on, such as
// "not_exist", "integrity", "failed" or "expired"; docs/protocol.md ("Why a
// call failed") lists them all. Treat a name you do not know as "internal";
// "" comes from an agent too old to give one.
func (e *OperationError) Kind() string { return e.Event.Params[protocol.KindKey] }

func (e *OperationError) Error() string {
	reason := e.Reason()
	if reason == "" {
		reason = "no reason given"
	}
	return "sdk: " + e.Event.Operate + " failed: " + reason
}

// Unwrap makes errors.Is(err, ErrOperationFailed) hold.
func (e *OperationError) Unwrap() error { return ErrOperationFailed }
