package sdk

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
)

// A device license is a compact JWS (RFC 7515) signed with EdDSA over
// Ed25519 (RFC 8037) by the vendor's key: the program checks it offline with
// the vendor's public key, so neither the desktop client nor the network has
// to be trusted at that moment.

// MaxLicenseBytes bounds a device-license token. A real one is well under
// 1 KiB plus the fingerprint (at most devinfo.MaxBytes); the cap keeps a
// hostile token from costing more than a few microseconds to reject.
const MaxLicenseBytes = 16 << 10

// ClockSkew is how far in the future "iat" and "nbf" may be: the issuer's
// clock and the program's differ a little.
const ClockSkew = 5 * time.Minute

// Device-license errors; test them with errors.Is.
var (
	ErrLicenseMalformed   = errors.New("sdk: device license is malformed")
	ErrLicenseSignature   = errors.New("sdk: device license signature is not valid for this key")
	ErrLicenseExpired     = errors.New("sdk: device license has expired")
	ErrLicenseNotYetValid = errors.New("sdk: device license is not valid yet")
	ErrLicenseWrongDevice = errors.New("sdk: device license is bound to another device")
)

// DeviceLicense holds the claims of a device license.
type DeviceLicense struct {
	Issuer    string `json:"iss,omitempty"` // who issued it (the marketplace, the sandbox, a vendor gateway)
	License   string `json:"sub"`           // the license code
	DevInfo   string `json:"dev"`           // the MAC|disk|board|CPU fingerprint it is bound to
	ProductID string `json:"pid,omitempty"` //
	IssuedAt  int64  `json:"iat,omitempty"` // Unix seconds
	NotBefore int64  `json:"nbf,omitempty"` // Unix seconds
	Expires   int64  `json:"exp"`           // Unix seconds; required
	ID        string `json:"jti,omitempty"` // unique per token
}

// jwsHeader is the only header this package writes; any header with alg
// EdDSA (and no crit) is read.
const jwsHeader = `{"alg":"EdDSA","typ":"JWT"}`

// b64 is strict unpadded base64url: a token has one encoding only, so two
// spellings of the same signed bytes cannot both pass. (A function rather
// than a package variable: the package keeps no mutable state.)
func b64() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// SignDeviceLicense signs c with the vendor's private key. It refuses claims
// that VerifyDeviceLicense would always reject: no expiry, or a DevInfo that
// is not a fingerprint string.
func SignDeviceLicense(priv ed25519.PrivateKey, c DeviceLicense) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sdk: sign device license: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if c.Expires == 0 {
		return "", errors.New("sdk: sign device license: no expiry (exp)")
	}
	if _, err := devinfo.Parse(c.DevInfo); err != nil {
		return "", fmt.Errorf("sdk: sign device license: dev: %w", err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64().EncodeToString([]byte(jwsHeader)) + "." + b64().EncodeToString(payload)
	token := signing + "." + b64().EncodeToString(ed25519.Sign(priv, []byte(signing)))
	if len(token) > MaxLicenseBytes {
		return "", fmt.Errorf("sdk: sign device license: token of %d bytes, more than %d", len(token), MaxLicenseBytes)
	}
	return token, nil
}

// VerifyDeviceLicense checks a device license offline and returns its
// claims. It accepts the token only when all of these hold:
//
//   - it is a compact JWS of at most MaxLicenseBytes whose header says alg
//     "EdDSA" (never "none" or anything else) and has no crit;
//   - pub's signature over it is valid;
//   - iat and nbf are not more than ClockSkew after now, and exp is after
//     now;
//   - the claim "dev" and devInfo (the fingerprint of this machine) are the
//     same machine under the fingerprint tolerance policy of
//     devinfo.Compare (one replaced part is tolerated, two are not).
//
// The error wraps ErrLicenseMalformed, ErrLicenseSignature,
// ErrLicenseExpired, ErrLicenseNotYetValid or ErrLicenseWrongDevice. Claims
// are returned only with a nil error.
func VerifyDeviceLicense(token string, pub ed25519.PublicKey, devInfo string, now time.Time) (DeviceLicense, error) {
	if len(pub) != ed25519.PublicKeySize {
		// ed25519.Verify panics on a key of another size.
		return DeviceLicense{}, fmt.Errorf("%w: public key of %d bytes, want %d", ErrLicenseSignature, len(pub), ed25519.PublicKeySize)
	}
	if len(token) > MaxLicenseBytes {
		return DeviceLicense{}, fmt.Errorf("%w: %d bytes, more than %d", ErrLicenseMalformed, len(token), MaxLicenseBytes)
	}
	token = strings.TrimSpace(token) // a license file ends with a newline
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return DeviceLicense{}, fmt.Errorf("%w: not a compact JWS (three base64url parts separated by '.')", ErrLicenseMalformed)
	}
	if err := checkHeader(header); err != nil {
		return DeviceLicense{}, err
	}
	rawSig, err := b64().DecodeString(sig)
	if err != nil || len(rawSig) != ed25519.SignatureSize {
		return DeviceLicense{}, fmt.Errorf("%w: signature is not %d bytes of base64url", ErrLicenseMalformed, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, []byte(token[:len(header)+1+len(payload)]), rawSig) {
		return DeviceLicense{}, ErrLicenseSignature
	}

	// Signed by the vendor from here on: what follows guards against the
	// vendor's own mistakes and against replaying a genuine token on another
	// machine or at another time.
	rawPayload, err := b64().DecodeString(payload)
	if err != nil {
		return DeviceLicense{}, fmt.Errorf("%w: claims are not base64url", ErrLicenseMalformed)
	}
	var c DeviceLicense
	if err := decodeStrictObject(rawPayload, &c); err != nil {
		return DeviceLicense{}, fmt.Errorf("%w: claims: %v", ErrLicenseMalformed, err)
	}
	if c.Expires == 0 {
		return DeviceLicense{}, fmt.Errorf("%w: no expiry (exp)", ErrLicenseMalformed)
	}
	latest := now.Add(ClockSkew).Unix()
	switch {
	case c.NotBefore > latest:
		return DeviceLicense{}, fmt.Errorf("%w: valid from %s", ErrLicenseNotYetValid, time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	case c.IssuedAt > latest:
		return DeviceLicense{}, fmt.Errorf("%w: issued at %s, in the future", ErrLicenseNotYetValid, time.Unix(c.IssuedAt, 0).UTC().Format(time.RFC3339))
	case now.Unix() >= c.Expires:
		return DeviceLicense{}, fmt.Errorf("%w: expired at %s", ErrLicenseExpired, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	bound, err := devinfo.Parse(c.DevInfo)
	if err != nil {
		return DeviceLicense{}, fmt.Errorf("%w: dev: %v", ErrLicenseMalformed, err)
	}
	here, err := devinfo.Parse(devInfo)
	if err != nil {
		return DeviceLicense{}, fmt.Errorf("%w: the devInfo to check against: %v", ErrLicenseMalformed, err)
	}
	if cmp := devinfo.Compare(bound, here); !cmp.SameMachine {
		return DeviceLicense{}, fmt.Errorf("%w: changed parts %v", ErrLicenseWrongDevice, cmp.ChangedParts())
	}
	return c, nil
}

// checkHeader accepts exactly alg EdDSA, typ absent or JWT, and no crit
// (RFC 7515 §4.1.11: a token naming extensions we do not know must be
// rejected).
func checkHeader(header string) error {
	raw, err := b64().DecodeString(header)
	if err != nil {
		return fmt.Errorf("%w: header is not base64url", ErrLicenseMalformed)
	}
	var h struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeStrictObject(raw, &h); err != nil {
		return fmt.Errorf("%w: header: %v", ErrLicenseMalformed, err)
	}
	switch {
	case h.Alg == nil:
		return fmt.Errorf("%w: header has no alg", ErrLicenseMalformed)
	case *h.Alg != "EdDSA":
		// "none", HS256 with the public key as secret, …: the classic JWT
		// downgrades. Only the algorithm the vendor signs with is accepted.
		return fmt.Errorf("%w: algorithm %q is not accepted, only EdDSA", ErrLicenseSignature, *h.Alg)
	case h.Typ != nil && *h.Typ != "JWT":
		return fmt.Errorf("%w: typ %q, want JWT", ErrLicenseMalformed, *h.Typ)
	case h.Crit != nil:
		return fmt.Errorf("%w: crit extensions are not supported", ErrLicenseMalformed)
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

// ParsePublicKey decodes a vendor's Ed25519 public key given as base64
// (standard or URL alphabet, padded or not), as the marketplace and the
// sandbox publish it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	key, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("sdk: public key is not base64: %w", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("sdk: public key of %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(key), nil
}
