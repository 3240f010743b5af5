// Package capi is the C library's logic in pure Go: handles and their
// registry, the return codes of iscdesk.h, the per-thread last error, event
// delivery to one callback at a time, and the event JSON. Package
// sdk/c/libiscdesk (cgo, built with -buildmode=c-shared) only converts
// between C and Go types around it, so everything here is tested with the
// race detector and without a C compiler.
//
// It imports sdk, sdk/fingerprint (the probes, since the C library offers
// the fingerprint call), protocol, token and internal/version; never the
// GUI toolkit, the keyring or the licensing internals (internal/layers).
package capi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	sdkfingerprint "github.com/iscdesk/iscdesk/sdk/fingerprint"
	"github.com/iscdesk/iscdesk/token"
)

// Version is the library's version, iscdesk_version().
const Version = version.Version

// Code is a return code of iscdesk.h.
type Code int

// The codes, as iscdesk.h defines them (TestHeaderCodes checks the header).
const (
	OK                  Code = 0
	EInvalid            Code = -1
	ENotConnected       Code = -2
	EDisconnected       Code = -3
	ERefused            Code = -4
	EFailed             Code = -5
	ETimeout            Code = -6
	EInCallback         Code = -7
	ENotPrivate         Code = -8
	EProtocol           Code = -9
	ELicenseMalformed   Code = -10
	ELicenseSignature   Code = -11
	ELicenseExpired     Code = -12
	ELicenseNotYetValid Code = -13
	ELicenseWrongDevice Code = -14
	ENotFound           Code = -15
	EInternal           Code = -99
)

// Error is an error with the code the C caller gets.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code Code, msg string) error {
	return &Error{Code: code, Err: errors.New("iscdesk: " + msg)}
}

// Errors of the handle itself.
var (
	ErrInvalid      = errorf(EInvalid, "invalid argument")
	ErrNotConnected = errorf(ENotConnected, "not connected: call iscdesk_init first")
	ErrInCallback   = errorf(EInCallback, "iscdesk_shut_out called from inside the handle's own event callback: set a flag and shut out from the program's thread")
)

// CodeOf maps an error of this package, of sdk or of token to its code.
func CodeOf(err error) Code {
	var e *Error
	var rpc *protocol.RPCError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, sdk.ErrNotPrivate):
		return ENotPrivate
	case errors.Is(err, sdk.ErrOperationFailed):
		return EFailed
	case errors.Is(err, sdk.ErrRefused):
		return ERefused
	case errors.Is(err, sdk.ErrProtocol):
		return EProtocol
	case errors.Is(err, sdk.ErrClosed):
		return ENotConnected
	case errors.Is(err, context.DeadlineExceeded):
		return ETimeout
	case errors.Is(err, sdk.ErrDisconnected):
		return EDisconnected
	case errors.Is(err, sdk.ErrLicenseMalformed):
		return ELicenseMalformed
	case errors.Is(err, sdk.ErrLicenseSignature):
		return ELicenseSignature
	case errors.Is(err, sdk.ErrLicenseExpired):
		return ELicenseExpired
	case errors.Is(err, sdk.ErrLicenseNotYetValid):
		return ELicenseNotYetValid
	case errors.Is(err, sdk.ErrLicenseWrongDevice):
		return ELicenseWrongDevice
	case errors.As(err, &rpc):
		if rpc.Code == protocol.CodeInvalidParams {
			return EInvalid
		}
		return ERefused
	}
	return EInternal
}

// Event types, as iscdesk.h numbers them.
var eventTypes = map[string]int{
	protocol.EventLicenseVerify:  1,
	protocol.EventUpgradeNotice:  2,
	protocol.EventUpdate:         3,
	protocol.EventOpenFile:       4,
	protocol.EventUploadStart:    5,
	protocol.EventUploadEnd:      6,
	protocol.EventSaveResult:     7,
	protocol.EventSolutionResult: 8,
	protocol.EventLicenseQueued:  9,
	protocol.EventSaveAsPath:     10,
}

// EventType is the ISCDESK_EVENT_* number of an event's operate (0 for one
// the header does not name).
func EventType(operate string) int { return eventTypes[operate] }

// EventJSON renders an event in the published shape; params and
// comeBackParams are objects even when empty.
func EventJSON(e protocol.Event) string {
	if e.Params == nil {
		e.Params = map[string]string{}
	}
	if e.ComeBackParams == nil {
		e.ComeBackParams = map[string]string{}
	}
	b, err := json.Marshal(e)
	if err != nil { // maps of strings always marshal
		panic(err)
	}
	return string(b)
}

// maxEventJSON bounds what EventParam reads: events are a few hundred
// bytes, and a protocol frame is at most a few MiB.
const maxEventJSON = 8 << 20

// EventParam reads one value of an event's JSON: key "operate" gives the
// operate, "comeBackParams.<k>" a comeBackParams entry, any other key a
// param.
func EventParam(eventJSON, key string) (string, error) {
	if len(eventJSON) > maxEventJSON {
		return "", errorf(EInvalid, "event JSON too long")
	}
	var e protocol.Event
	dec := json.NewDecoder(strings.NewReader(eventJSON))
	if err := dec.Decode(&e); err != nil || e.Operate == "" || dec.More() {
		return "", errorf(EInvalid, "not an event's JSON")
	}
	var v string
	var ok bool
	if key == "operate" {
		v, ok = e.Operate, true
	} else if k, cb := strings.CutPrefix(key, "comeBackParams."); cb {
		v, ok = e.ComeBackParams[k]
	} else {
		v, ok = e.Params[key]
	}
	if !ok {
		return "", errorf(ENotFound, "the event has no "+key)
	}
	return v, nil
}

// Fingerprint is this machine's devInfo (timeout 0: the probes' default).
func Fingerprint(timeout time.Duration) string {
	ctx, cancel := withTimeout(timeout)
	defer cancel()
	return sdkfingerprint.DevInfo(ctx)
}

// VerifyDeviceLicense checks a device license offline with the vendor's
// public key in its published base64 form and returns the claims as JSON.
func VerifyDeviceLicense(license, publicKey, devInfo string, now time.Time) (string, error) {
	pub, err := token.ParsePublicKey(publicKey)
	if err != nil {
		return "", &Error{Code: EInvalid, Err: err}
	}
	c, err := sdk.VerifyDeviceLicense(license, pub, devInfo, now)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), d)
}

// Registry maps the opaque handles the C side holds to their Handle. An id
// is never reused, so a stale handle is invalid rather than another's.
type Registry struct {
	mu      sync.Mutex
	handles map[uintptr]*Handle
	next    atomic.Uintptr
}

// Add registers h and returns its id (never 0).
func (r *Registry) Add(h *Handle) uintptr {
	id := r.next.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.handles == nil {
		r.handles = map[uintptr]*Handle{}
	}
	r.handles[id] = h
	return id
}

// Get returns the handle of id, or nil.
func (r *Registry) Get(id uintptr) *Handle {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handles[id]
}

// Remove forgets id.
func (r *Registry) Remove(id uintptr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.handles, id)
}

// Callback receives one event: its ISCDESK_EVENT_* type and its JSON.
type Callback func(eventType int, eventJSON string)

// maxThreadErrors bounds the last errors kept per handle: one per thread
// that made a failing call; a program with more threads than this loses
// the oldest threads' messages, never their codes.
const maxThreadErrors = 256

// Handle is one iscdesk_client: its settings, its connection once Init
// succeeded, its callback and its last errors per thread.
type Handle struct {
	app, version, socket string

	initMu sync.Mutex // serialises Init
	mu     sync.Mutex
	client *sdk.Client
	closed bool
	cb     Callback

	// deliverMu is held while the callback runs: ShutOut waits on it so
	// that no callback runs once it returned.
	deliverMu sync.Mutex

	// finals are the final events the callback has been given lately:
	// the waiting calls return once theirs is among them.
	finals finals
	// InCallback, when set, reports whether the calling thread is running
	// this handle's callback (the C layer knows, through its thread-local
	// state): a waiting call made there cannot wait for the callback.
	InCallback func() bool

	errMu    sync.Mutex
	errs     map[uintptr]string
	errOrder []uintptr
}

// NewHandle returns a handle not yet connected. Empty app or version take
// sdk's defaults; an empty socket the per-user path.
func NewHandle(app, version, socket string) *Handle {
	return &Handle{app: app, version: version, socket: socket}
}

// SetErr records err (nil: nothing) as thread's last error and returns its
// code.
func (h *Handle) SetErr(thread uintptr, err error) Code {
	if err == nil {
		return OK
	}
	h.errMu.Lock()
	defer h.errMu.Unlock()
	if h.errs == nil {
		h.errs = map[uintptr]string{}
	}
	if _, ok := h.errs[thread]; !ok {
		if len(h.errOrder) >= maxThreadErrors {
			delete(h.errs, h.errOrder[0])
			h.errOrder = h.errOrder[1:]
		}
		h.errOrder = append(h.errOrder, thread)
	}
	h.errs[thread] = err.Error()
	return CodeOf(err)
}

// LastError is thread's last error message ("" when none).
func (h *Handle) LastError(thread uintptr) string {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	return h.errs[thread]
}

// Init connects (the published Init); on a connected handle it does
// nothing.
func (h *Handle) Init(timeout time.Duration) error {
	h.initMu.Lock()
	defer h.initMu.Unlock()
	h.mu.Lock()
	closed, connected := h.closed, h.client != nil
	h.mu.Unlock()
	if closed {
		return ErrInvalid
	}
	if connected {
		return nil
	}
	ctx, cancel := withTimeout(timeout)
	defer cancel()
	var opts []sdk.Option
	if h.socket != "" {
		opts = append(opts, sdk.WithSocketPath(h.socket))
	}
	if h.app != "" || h.version != "" {
		opts = append(opts, sdk.WithApp(h.app, h.version))
	}
	c, err := sdk.Connect(ctx, opts...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sdk.ErrNotPrivate) {
			return err
		}
		return &Error{Code: EDisconnected, Err: err}
	}
	c.RegisterEventRecall(h.deliver)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed { // ShutOut ran meanwhile
		c.Close()
		return ErrInvalid
	}
	h.client = c
	return nil
}

// SetCallback sets the callback (nil removes it).
func (h *Handle) SetCallback(cb Callback) {
	h.mu.Lock()
	h.cb = cb
	h.mu.Unlock()
}

func (h *Handle) deliver(e protocol.Event) {
	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	h.mu.Lock()
	cb, closed := h.cb, h.closed
	h.mu.Unlock()
	if cb != nil && !closed {
		cb(EventType(e.Operate), EventJSON(e))
	}
	if finalEvents[e.Operate] {
		h.finals.add(e)
	}
}

// ShutOut disconnects: calls in flight fail, and once it returns no
// callback runs. It must not be called from the handle's own callback
// (which would wait for itself); the C layer checks that before.
func (h *Handle) ShutOut() {
	h.finals.close()
	h.mu.Lock()
	h.closed = true
	c := h.client
	h.client = nil
	h.mu.Unlock()
	if c != nil {
		c.Close()
	}
	// Wait for a callback still running on the library's thread, then let
	// go of the program's function: deliver checks closed under deliverMu,
	// so none starts after this.
	h.deliverMu.Lock()
	defer h.deliverMu.Unlock()
	h.mu.Lock()
	h.cb = nil
	h.mu.Unlock()
}

// Client is the connection, or ErrNotConnected.
func (h *Handle) Client() (*sdk.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client == nil {
		return nil, ErrNotConnected
	}
	return h.client, nil
}

// Context is the context of a call with timeout (0: none).
func Context(timeout time.Duration) (context.Context, context.CancelFunc) {
	return withTimeout(timeout)
}

// FinalEvent turns the outcome of a waiting call into the event's JSON and
// the error: a failed final event gives both.
func FinalEvent(e protocol.Event, err error) (string, error) {
	var op *sdk.OperationError
	if errors.As(err, &op) {
		return EventJSON(op.Event), err
	}
	if err != nil {
		return "", err
	}
	return EventJSON(e), nil
}
