// Package activation is the activation token the vendor license server
// (iscdesk-server) hands a desktop: the claims, how the server signs them and
// how the desktop verifies them offline against the vendor public key it
// pinned (config server_key), each failure with its own error.
//
// A token is a typed compact JWS (package token, typ Type, header kid naming
// the vendor key). It binds one activation of one license code to one
// device: its fingerprint (checked with the tolerance policy of package
// devinfo) and the thumbprint of the device's Ed25519 key, whose private half
// never leaves the device's keyring. It carries the license expiry (exp) and
// a grace deadline (check_by: the last successful online check plus the
// product's grace days), so an old token restored from a backup stops there.
//
// It imports only the standard library, token and fingerprint/devinfo, so
// the desktop can use it without the server's HTTP or SQL packages
// (internal/layers checks this).
package activation

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/token"
)

// Type is the JWS typ of activation tokens: never accepted as a device
// license, nor a device license as an activation token.
const Type = "iscdesk-activation+jwt"

// StatusAlive is the only status a token is issued with today; the claim is
// there so a later server may hand out tokens of other states.
const StatusAlive = "ALIVE"

// Errors of Verify and Claims.Bound, tested with errors.Is. Malformed tokens,
// bad signatures and unknown keys wrap token.ErrMalformed,
// token.ErrSignature and token.ErrUnknownKey.
var (
	ErrExpired      = errors.New("license has expired")
	ErrCheckBy      = errors.New("no successful online check before the grace deadline")
	ErrNotYetValid  = errors.New("activation token is issued in the future (clock set back?)")
	ErrNotUsable    = errors.New("activation token does not grant use")
	ErrWrongMachine = errors.New("activation token is bound to another machine")
	ErrDeviceKey    = errors.New("activation token is bound to another device key")
)

// Claims are the claims of an activation token. Times are Unix seconds.
type Claims struct {
	Issuer       string `json:"iss,omitempty"`
	ActivationID string `json:"aid"`
	Product      string `json:"prd"`
	OrderID      string `json:"ord,omitempty"`
	CodeHash     string `json:"code_hash"` // CodeHash of the license code
	Fingerprint  string `json:"fp"`        // the MAC|disk|board|CPU string the seat is bound to
	DeviceKey    string `json:"dkt"`       // Thumbprint of the device public key
	Status       string `json:"st"`        // StatusAlive
	Expires      int64  `json:"exp"`       // license expiry
	CheckBy      int64  `json:"check_by"`  // grace deadline
	IssuedAt     int64  `json:"iat"`       // server time
	ActivatedAt  int64  `json:"act,omitempty"`
	// Machine is the protected OS machine id the desktop sent: the second
	// factor of a fingerprint with a single unit part
	// (devinfo.Components.NeedsMachineID), empty otherwise.
	Machine string `json:"mid,omitempty"`
}

// CodeHash is the hex SHA-256 of a (normalised) license code: tokens and logs
// name a code by it.
func CodeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// Thumbprint is the base64url (unpadded) SHA-256 of a device public key.
func Thumbprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Keys are the vendor public keys a verifier trusts, by key id.
type Keys map[string]ed25519.PublicKey

// Pinned returns the key set of the given public keys.
func Pinned(pubs ...ed25519.PublicKey) Keys {
	k := make(Keys, len(pubs))
	for _, p := range pubs {
		if len(p) == ed25519.PublicKeySize {
			k[token.KeyID(p)] = p
		}
	}
	return k
}

func (k Keys) lookup(kid string) (ed25519.PublicKey, bool) {
	p, ok := k[kid]
	return p, ok
}

// Sign signs c with the vendor key priv.
func Sign(priv ed25519.PrivateKey, c Claims) (string, error) {
	if err := c.complete(); err != nil {
		return "", fmt.Errorf("activation: sign: %w", err)
	}
	return token.SignTyped(priv, Type, c)
}

func (c Claims) complete() error {
	switch {
	case c.ActivationID == "":
		return errors.New("no activation id (aid)")
	case c.CodeHash == "":
		return errors.New("no code hash")
	case c.Fingerprint == "":
		return errors.New("no fingerprint (fp)")
	case c.DeviceKey == "":
		return errors.New("no device key thumbprint (dkt)")
	case c.Expires == 0 || c.CheckBy == 0 || c.IssuedAt == 0:
		return errors.New("exp, check_by and iat are required")
	}
	return nil
}

// Verify checks tok against the trusted keys at now and returns its claims:
// the signature (a key id not in keys: token.ErrUnknownKey; a bad signature:
// token.ErrSignature), the shape (token.ErrMalformed), then status
// (ErrNotUsable), iat not after now+token.ClockSkew (ErrNotYetValid), the
// license expiry (ErrExpired) and the grace deadline (ErrCheckBy), in that
// order. Claims are returned with ErrExpired and ErrCheckBy too (they are
// genuine, only out of time), so a caller can show them.
//
// Binding to this machine is Claims.Bound's job.
func Verify(tok string, keys Keys, now time.Time) (Claims, error) {
	var c Claims
	if _, err := token.VerifyTyped(tok, Type, keys.lookup, &c); err != nil {
		return Claims{}, err
	}
	if err := c.complete(); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", token.ErrMalformed, err)
	}
	switch {
	case c.Status != StatusAlive:
		return Claims{}, fmt.Errorf("%w: status %q", ErrNotUsable, c.Status)
	case c.IssuedAt > now.Add(token.ClockSkew).Unix():
		return Claims{}, fmt.Errorf("%w: issued at %s", ErrNotYetValid, unixText(c.IssuedAt))
	case now.Unix() >= c.Expires:
		return c, fmt.Errorf("%w: expired at %s", ErrExpired, unixText(c.Expires))
	case now.Unix() >= c.CheckBy:
		return c, fmt.Errorf("%w: it was due by %s", ErrCheckBy, unixText(c.CheckBy))
	}
	return c, nil
}

// Parse reads a token's claims without checking signature or time (support
// tools). Errors wrap token.ErrMalformed or token.ErrSignature.
func Parse(tok string) (Claims, error) {
	var c Claims
	if _, err := token.ParseTyped(tok, Type, &c); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Bound checks that the token belongs to this device: the fingerprint it is
// bound to and current are the same machine under devinfo.Compare
// (ErrWrongMachine, with the comparison so the caller can name the changed
// parts), and devicePub is the key it names (ErrDeviceKey). A token that
// binds the OS machine id too (mid) is checked against it by BoundMachine.
func (c Claims) Bound(current devinfo.Components, devicePub ed25519.PublicKey) (devinfo.Comparison, error) {
	stored, err := devinfo.Parse(c.Fingerprint)
	if err != nil {
		return devinfo.Comparison{}, fmt.Errorf("%w: fingerprint claim: %v", token.ErrMalformed, err)
	}
	cmp := devinfo.Compare(stored, current)
	if !cmp.SameMachine {
		return cmp, fmt.Errorf("%w: %s (changed: %v)", ErrWrongMachine, cmp.Reason(), cmp.ChangedParts())
	}
	if len(devicePub) != ed25519.PublicKeySize || Thumbprint(devicePub) != c.DeviceKey {
		return cmp, ErrDeviceKey
	}
	return cmp, nil
}

// BoundMachine checks the OS machine id a token binds (mid: sent at
// activation for a fingerprint with a single unit part) against this
// machine's, read by machineID, which is called only then. A token without
// mid passes.
func (c Claims) BoundMachine(machineID func() (string, error)) error {
	if c.Machine == "" {
		return nil
	}
	mid, err := machineID()
	if err != nil {
		return fmt.Errorf("%w: this machine's id cannot be read to check it: %v", ErrWrongMachine, err)
	}
	if subtle.ConstantTimeCompare([]byte(mid), []byte(c.Machine)) != 1 {
		return fmt.Errorf("%w: the OS machine id differs", ErrWrongMachine)
	}
	return nil
}

func unixText(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
