// Package token writes and reads device licenses: compact JWS tokens (RFC
// 7515) signed with EdDSA over Ed25519 (RFC 8037) by the vendor's key, and
// the keys that sign and verify them. A program checks a token offline with
// the vendor's public key, so neither the desktop client nor the network has
// to be trusted at that moment. The same format carries the vendor's other
// signed documents, such as update manifests (SignPayload, VerifyPayload),
// each under a typ of its own so that none passes for another.
//
// Its one job is the token format: the header, the claims, the signature,
// the validity period, the encoding of keys. Whether the device a token is
// bound to is this machine is not its business: that takes the fingerprint
// tolerance policy, which sdk.VerifyDeviceLicense applies on top of Verify.
//
// It imports only the standard library (internal/layers checks this):
// package sdk, which vendors compile into their products, builds on it, and
// so do the issuers (the sandbox) and the marketplace client.
package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alg is the only signature algorithm of device licenses, as JOSE names it
// (RFC 8037): EdDSA over Ed25519.
const Alg = "EdDSA"

// MaxBytes bounds a token. A real one is well under 1 KiB plus the
// fingerprint (at most 5 KiB, a third more in base64); the cap keeps a
// hostile token from costing more than a few microseconds to reject.
const MaxBytes = 16 << 10

// ClockSkew is how far in the future "iat" and "nbf" may be: the issuer's
// clock and the program's differ a little.
const ClockSkew = 5 * time.Minute

// Errors of Verify and Parse; test them with errors.Is. The errors returned
// wrap them with the detail.
var (
	ErrMalformed   = errors.New("device license is malformed")
	ErrSignature   = errors.New("device license signature is not valid for this key")
	ErrExpired     = errors.New("device license has expired")
	ErrNotYetValid = errors.New("device license is not valid yet")
)

// Claims are the claims of a device license.
type Claims struct {
	Issuer    string `json:"iss,omitempty"` // who issued it (the marketplace, the sandbox, a vendor gateway)
	License   string `json:"sub"`           // the license code
	DevInfo   string `json:"dev"`           // the MAC|disk|board|CPU fingerprint it is bound to
	ProductID string `json:"pid,omitempty"` //
	IssuedAt  int64  `json:"iat,omitempty"` // Unix seconds
	NotBefore int64  `json:"nbf,omitempty"` // Unix seconds
	Expires   int64  `json:"exp"`           // Unix seconds; required
	ID        string `json:"jti,omitempty"` // unique per token
	// Machine is the protected OS machine id (package fingerprint/osid):
	// the second factor of a token whose dev has a single unit part
	// (devinfo.Components.NeedsMachineID); empty otherwise.
	Machine string `json:"mid,omitempty"`
}

// header is the only header this package writes; any header with alg
// EdDSA (and no crit) is read.
const header = `{"alg":"` + Alg + `","typ":"JWT"}`

// b64 is strict unpadded base64url: a token has one encoding only, so two
// spellings of the same signed bytes cannot both pass. (A function rather
// than a package variable: the package keeps no mutable state.)
func b64() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// Sign signs c with the vendor's private key. It refuses claims that Verify
// would always reject: no expiry, or a token longer than MaxBytes. The
// caller checks that c.DevInfo is a fingerprint string (devinfo.Parse).
func Sign(priv ed25519.PrivateKey, c Claims) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("token: sign: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if c.Expires == 0 {
		return "", errors.New("token: sign: no expiry (exp)")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64().EncodeToString([]byte(header)) + "." + b64().EncodeToString(payload)
	tok := signing + "." + b64().EncodeToString(ed25519.Sign(priv, []byte(signing)))
	if len(tok) > MaxBytes {
		return "", fmt.Errorf("token: sign: token of %d bytes, more than %d", len(tok), MaxBytes)
	}
	return tok, nil
}

// Verify checks a token's signature and validity period and returns its
// claims. It accepts the token only when all of these hold:
//
//   - it is a compact JWS of at most MaxBytes (surrounding white space, such
//     as the newline ending a license file, is ignored) whose header says
//     alg "EdDSA" (never "none" or anything else), typ absent or "JWT", and
//     has no crit;
//   - pub's signature over it is valid;
//   - its claims are one JSON object with an expiry (exp);
//   - iat and nbf are not more than ClockSkew after now, and exp is after
//     now.
//
// The error wraps ErrMalformed, ErrSignature, ErrExpired or ErrNotYetValid.
// Claims are returned only with a nil error.
func Verify(tok string, pub ed25519.PublicKey, now time.Time) (Claims, error) {
	if len(pub) != ed25519.PublicKeySize {
		// ed25519.Verify panics on a key of another size.
		return Claims{}, fmt.Errorf("%w: public key of %d bytes, want %d", ErrSignature, len(pub), ed25519.PublicKeySize)
	}
	p, err := split(tok)
	if err != nil {
		return Claims{}, err
	}
	if !ed25519.Verify(pub, []byte(p.signed), p.sig) {
		return Claims{}, ErrSignature
	}
	// Signed by the vendor from here on: what follows guards against the
	// vendor's own mistakes and against replaying a genuine token at another
	// time.
	c, err := p.claims()
	if err != nil {
		return Claims{}, err
	}
	if err := c.validAt(now); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Parse reads a token's claims without checking its signature or its
// validity period: for a holder of the token who does not hold the vendor's
// key, such as the desktop client passing a token on. It checks everything
// else Verify checks (shape, size, header, a signature of the right size,
// claims with an expiry), so a token it accepts fails Verify only for its
// signature or its time. The error wraps ErrMalformed or ErrSignature (an
// algorithm other than EdDSA).
func Parse(tok string) (Claims, error) {
	p, err := split(tok)
	if err != nil {
		return Claims{}, err
	}
	return p.claims()
}

// parts is a token split and checked up to its signature.
type parts struct {
	signed  string // header.payload, the signed bytes
	payload string // base64url claims
	sig     []byte
}

func split(tok string) (parts, error) {
	if len(tok) > MaxBytes {
		return parts{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(tok), MaxBytes)
	}
	tok = strings.TrimSpace(tok)
	head, rest, ok1 := strings.Cut(tok, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return parts{}, fmt.Errorf("%w: not a compact JWS (three base64url parts separated by '.')", ErrMalformed)
	}
	if err := checkHeader(head); err != nil {
		return parts{}, err
	}
	rawSig, err := b64().DecodeString(sig)
	if err != nil || len(rawSig) != ed25519.SignatureSize {
		return parts{}, fmt.Errorf("%w: signature is not %d bytes of base64url", ErrMalformed, ed25519.SignatureSize)
	}
	return parts{signed: tok[:len(head)+1+len(payload)], payload: payload, sig: rawSig}, nil
}

// claims decodes the payload: one JSON object, with an expiry.
func (p parts) claims() (Claims, error) {
	raw, err := b64().DecodeString(p.payload)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not base64url", ErrMalformed)
	}
	var c Claims
	if err := decodeStrictObject(raw, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if c.Expires == 0 {
		return Claims{}, fmt.Errorf("%w: no expiry (exp)", ErrMalformed)
	}
	return c, nil
}

// validAt checks the validity period against now, with ClockSkew for the
// times that may not lie in the future.
func (c Claims) validAt(now time.Time) error {
	latest := now.Add(ClockSkew).Unix()
	switch {
	case c.NotBefore > latest:
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, unixText(c.NotBefore))
	case c.IssuedAt > latest:
		return fmt.Errorf("%w: issued at %s, in the future", ErrNotYetValid, unixText(c.IssuedAt))
	case now.Unix() >= c.Expires:
		return fmt.Errorf("%w: expired at %s", ErrExpired, unixText(c.Expires))
	}
	return nil
}

func unixText(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

// checkHeader accepts exactly alg EdDSA, typ absent or JWT, and no crit
// (RFC 7515 §4.1.11: a token naming extensions we do not know must be
// rejected).
func checkHeader(head string) error {
	raw, err := b64().DecodeString(head)
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var h struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeStrictObject(raw, &h); err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	switch {
	case h.Alg == nil:
		return fmt.Errorf("%w: header has no alg", ErrMalformed)
	case *h.Alg != Alg:
		// "none", HS256 with the public key as secret, …: the classic JWT
		// downgrades. Only the algorithm the vendor signs with is accepted.
		return fmt.Errorf("%w: algorithm %q is not accepted, only %s", ErrSignature, *h.Alg, Alg)
	case h.Typ != nil && *h.Typ != "JWT":
		return fmt.Errorf("%w: typ %q, want JWT", ErrMalformed, *h.Typ)
	case h.Crit != nil:
		return fmt.Errorf("%w: crit extensions are not supported", ErrMalformed)
	}
	return nil
}

// decodeStrictObject decodes one JSON object and nothing after it.
func decodeStrictObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}
