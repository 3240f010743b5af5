// Package offline holds the files of air-gapped activation and deactivation
// (docs/server-api.md, "Activation by file"): the request a desktop without
// a route to the vendor server writes, signed by its device key, and the
// answer the server writes, signed by the vendor key. Both are one line of
// ASCII text (a compact JWS, base64url), small enough for a QR code.
//
// It imports the standard library and package token only, so the desktop
// and the server share it without pulling in each other. The HTTP route of
// the vendor portal is package server/wire's (PathOfflineAnswer).
package offline

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/token"
)

// Kinds of request.
const (
	KindActivate   = "activate"
	KindDeactivate = "deactivate"
)

// The typ of each signed text, so that no request passes for an answer, nor
// any other token signed by the same key for either.
const (
	RequestType = "iscdesk-offline-request"
	AnswerType  = "iscdesk-offline-answer"
)

// Limits.
const (
	// MaxTextBytes bounds a request or answer file (a request's fingerprint
	// may be up to 5 KiB).
	MaxTextBytes = 16 << 10
	// QRBytes is what a QR code holds in byte mode at its largest version
	// (40) and lowest error correction (L): a request up to this size can
	// be carried as one code.
	QRBytes = 2953
	// MinNonceLen and MaxNonceLen bound a request's nonce.
	MinNonceLen = 16
	MaxNonceLen = 128
)

// Request is what the offline desktop asks. Short JSON names keep it small.
type Request struct {
	Kind string `json:"k"`
	// Activate: the license code, this machine's fingerprint and the new
	// device public key (which signs the request: proof the desktop holds
	// its private half).
	Code        string `json:"c,omitempty"`
	Fingerprint string `json:"f,omitempty"`
	DeviceKey   []byte `json:"d,omitempty"`
	// Deactivate: the activation whose seat to free (its device key signs).
	ActivationID string `json:"a,omitempty"`
	Host         string `json:"h,omitempty"`
	App          string `json:"p,omitempty"`
	Version      string `json:"v,omitempty"`
	Nonce        string `json:"n"`
	Time         int64  `json:"t"` // Unix seconds, the desktop's clock
}

// At is the request's time.
func (r Request) At() time.Time { return time.Unix(r.Time, 0).UTC() }

// Check reports what is missing or malformed in r's shape; the server's
// rules (the code's format, the fingerprint's parts) come after.
func (r Request) Check() error {
	switch {
	case len(r.Nonce) < MinNonceLen || len(r.Nonce) > MaxNonceLen:
		return fmt.Errorf("offline request: nonce of %d characters, want %d to %d", len(r.Nonce), MinNonceLen, MaxNonceLen)
	case r.Time <= 0:
		return errors.New("offline request: no time")
	}
	switch r.Kind {
	case KindActivate:
		switch {
		case r.Code == "" || r.Fingerprint == "":
			return errors.New("offline request: an activation needs the license code and the fingerprint")
		case len(r.DeviceKey) != ed25519.PublicKeySize:
			return fmt.Errorf("offline request: device key of %d bytes, want %d", len(r.DeviceKey), ed25519.PublicKeySize)
		case r.ActivationID != "":
			return errors.New("offline request: an activation names no activation id")
		}
	case KindDeactivate:
		switch {
		case r.ActivationID == "":
			return errors.New("offline request: a deactivation needs the activation id")
		case r.Code != "" || len(r.DeviceKey) != 0:
			return errors.New("offline request: a deactivation carries no code or device key")
		}
	default:
		return fmt.Errorf("offline request: unknown kind %q (want %s or %s)", r.Kind, KindActivate, KindDeactivate)
	}
	return nil
}

// SignRequest writes r as a request text signed by the device key priv.
func SignRequest(priv ed25519.PrivateKey, r Request) (string, error) {
	if err := r.Check(); err != nil {
		return "", err
	}
	if r.Kind == KindActivate && !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(r.DeviceKey)) {
		return "", errors.New("offline request: an activation is signed by the device key it carries")
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return token.SignPayload(priv, RequestType, payload)
}

// ParseRequest reads a request text WITHOUT checking its signature: the
// caller needs its fields to know the key (the device key it carries for an
// activation, the activation's for a deactivation), then calls
// VerifyRequest. White space anywhere in the text (a mail client's line
// breaks) is ignored.
func ParseRequest(text string) (Request, string, error) {
	tok, err := compact(text)
	if err != nil {
		return Request{}, "", err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return Request{}, "", errors.New("offline request: not a request file (want three base64url parts separated by '.')")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return Request{}, "", errors.New("offline request: the payload is not base64url")
	}
	var r Request
	if err := strictJSON(raw, &r); err != nil {
		return Request{}, "", fmt.Errorf("offline request: %v", err)
	}
	if err := r.Check(); err != nil {
		return Request{}, "", err
	}
	return r, tok, nil
}

// VerifyRequest checks that pub signed the request text tok (as
// ParseRequest returned it) and that its signed fields are r's.
func VerifyRequest(tok string, pub ed25519.PublicKey, r Request) error {
	raw, err := token.VerifyPayload(tok, pub, RequestType)
	if err != nil {
		return fmt.Errorf("offline request: %w", err)
	}
	var signed Request
	if err := strictJSON(raw, &signed); err != nil {
		return fmt.Errorf("offline request: %v", err)
	}
	if !sameRequest(signed, r) {
		return errors.New("offline request: the signed fields differ from the ones read")
	}
	return nil
}

func sameRequest(a, b Request) bool {
	return a.Kind == b.Kind && a.Code == b.Code && a.Fingerprint == b.Fingerprint &&
		string(a.DeviceKey) == string(b.DeviceKey) && a.ActivationID == b.ActivationID && a.Host == b.Host &&
		a.App == b.App && a.Version == b.Version && a.Nonce == b.Nonce && a.Time == b.Time
}

// Answer is the server's answer to a request, signed by the vendor key.
type Answer struct {
	Kind         string `json:"k"`
	Nonce        string `json:"n"` // the request's
	ActivationID string `json:"a"`
	// Token is the activation token (activate only); it binds the device
	// key and the fingerprint of the request.
	Token string `json:"tok,omitempty"`
	// DeviceLicense (activate only, when the fingerprint names more than one
	// network card, disk or board) is a device license (package token)
	// bound to the request's fingerprint, expiring with the token's grace:
	// what the agent hands the vendor's programs while the machine cannot
	// ask the server for one.
	DeviceLicense string `json:"dl,omitempty"`
	Time          int64  `json:"t"` // the server's clock, Unix seconds
	// Endorsements are the vendor's key endorsements (as GET /v1/keys
	// publishes them), so that a desktop that pinned a key from before a
	// rotation can follow it to the key that signed; none before the first
	// rotation.
	Endorsements []string `json:"e,omitempty"`
}

// SignAnswer writes a as an answer text signed by the vendor key.
func SignAnswer(vendor ed25519.PrivateKey, a Answer) (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	payload, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	return token.SignPayloadKid(vendor, AnswerType, payload)
}

func (a Answer) check() error {
	switch {
	case a.Kind != KindActivate && a.Kind != KindDeactivate:
		return fmt.Errorf("offline answer: unknown kind %q", a.Kind)
	case len(a.Nonce) < MinNonceLen || len(a.Nonce) > MaxNonceLen || a.ActivationID == "" || a.Time <= 0:
		return errors.New("offline answer: nonce, activation id and time are required")
	case a.Kind == KindActivate && a.Token == "":
		return errors.New("offline answer: an activation answer carries its token")
	case a.Kind == KindDeactivate && (a.Token != "" || a.DeviceLicense != ""):
		return errors.New("offline answer: a deactivation answer carries no token")
	case len(a.Endorsements) > MaxEndorsements:
		return fmt.Errorf("offline answer: more than %d key endorsements", MaxEndorsements)
	}
	return nil
}

// ErrNotVendor is wrapped by VerifyAnswer when no key of keys signed the
// answer (it was edited, or another vendor's server wrote it).
var ErrNotVendor = errors.New("the answer is not signed by a vendor key this machine trusts")

// VerifyAnswer checks an answer text against the vendor keys (by key id)
// and returns it. White space anywhere in the text is ignored.
func VerifyAnswer(text string, keys map[string]ed25519.PublicKey) (Answer, error) {
	tok, err := compact(text)
	if err != nil {
		return Answer{}, err
	}
	var raw []byte
	verr := error(ErrNotVendor)
	for _, pub := range keys {
		if raw, err = token.VerifyPayload(tok, pub, AnswerType); err == nil {
			verr = nil
			break
		}
		if errors.Is(err, token.ErrMalformed) {
			return Answer{}, fmt.Errorf("offline answer: not an answer file: %w", err)
		}
	}
	if verr != nil {
		return Answer{}, fmt.Errorf("offline answer: %w (it was edited, or made by another vendor's server)", verr)
	}
	var a Answer
	if err := strictJSON(raw, &a); err != nil {
		return Answer{}, fmt.Errorf("offline answer: %v", err)
	}
	if err := a.check(); err != nil {
		return Answer{}, err
	}
	return a, nil
}

// MaxEndorsements bounds the endorsements an answer may carry.
const MaxEndorsements = 8

// AnswerEndorsements returns the endorsements an answer text carries,
// WITHOUT checking its signature: the caller widens its pinned keys with
// those of them that verify from a pinned key (each endorsement is itself
// signed by the key before it), then calls VerifyAnswer with the result.
// A text that cannot be read carries none.
func AnswerEndorsements(text string) []string {
	tok, err := compact(text)
	if err != nil {
		return nil
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var a struct {
		E []string `json:"e"`
	}
	if json.Unmarshal(raw, &a) != nil || len(a.E) > MaxEndorsements {
		return nil
	}
	return a.E
}

// compact removes white space and bounds the size.
func compact(text string) (string, error) {
	if len(text) > MaxTextBytes {
		return "", fmt.Errorf("offline file: %d bytes, at most %d", len(text), MaxTextBytes)
	}
	tok := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, text)
	if tok == "" {
		return "", errors.New("offline file: empty")
	}
	return tok, nil
}

// strictJSON decodes one JSON object into v, refusing unknown fields and
// trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("payload: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("payload: data after the object")
	}
	return nil
}
