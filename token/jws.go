package token

// Typed tokens: the same compact JWS (EdDSA, Ed25519) as device licenses,
// for other documents the vendor signs (activation tokens, key
// endorsements). Their header names a type other than "JWT" and the id of
// the key that signed them, so that
//
//   - a typed token is never accepted where a device license is expected
//     (Verify and Parse refuse any typ but JWT), nor one type for another;
//   - a verifier holding several keys (a key rotation's overlap) picks the
//     one the token names, and refuses a token naming none of them.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by VerifyTyped when the token names a key id the
// verifier does not hold: signed by another vendor, or by a key rotated out.
var ErrUnknownKey = errors.New("token is signed by a key that is not trusted here")

// KeyID is the id of a vendor public key: the first 16 characters of the
// base64url SHA-256 of its 32 bytes (96 bits), stable for a key whatever
// encoding it was handed around in.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return b64().EncodeToString(sum[:])[:16]
}

// typedHeader is the header of a typed token.
type typedHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// SignTyped signs claims (any value encoding to a JSON object) as a token of
// type typ with priv, naming the key by KeyID in the header.
func SignTyped(priv ed25519.PrivateKey, typ string, claims any) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("token: sign: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if typ == "" || typ == "JWT" {
		return "", fmt.Errorf("token: sign: typed token needs a type other than JWT, got %q", typ)
	}
	head, err := json.Marshal(typedHeader{Alg: Alg, Typ: typ, Kid: KeyID(priv.Public().(ed25519.PublicKey))})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("token: sign: claims must encode to a JSON object")
	}
	signing := b64().EncodeToString(head) + "." + b64().EncodeToString(payload)
	tok := signing + "." + b64().EncodeToString(ed25519.Sign(priv, []byte(signing)))
	if len(tok) > MaxBytes {
		return "", fmt.Errorf("token: sign: token of %d bytes, more than %d", len(tok), MaxBytes)
	}
	return tok, nil
}

// VerifyTyped checks a typed token: compact JWS of at most MaxBytes, header
// alg EdDSA, typ exactly typ, a kid, no crit; keyFor(kid) returns the key,
// or false for a key not trusted (the error wraps ErrUnknownKey); the
// signature is valid under it. The claims (one JSON object) are decoded into
// claims, and the key id is returned. Validity times are the caller's: each
// type has its own.
//
// Errors wrap ErrMalformed, ErrSignature or ErrUnknownKey.
func VerifyTyped(tok, typ string, keyFor func(kid string) (ed25519.PublicKey, bool), claims any) (kid string, err error) {
	p, h, err := splitTyped(tok, typ)
	if err != nil {
		return "", err
	}
	pub, ok := keyFor(h.Kid)
	if !ok {
		return "", fmt.Errorf("%w (key id %q)", ErrUnknownKey, h.Kid)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, []byte(p.signed), p.sig) {
		return "", ErrSignature
	}
	if err := decodePayload(p.payload, claims); err != nil {
		return "", err
	}
	return h.Kid, nil
}

// ParseTyped reads a typed token's key id and claims without checking the
// signature: for a holder who does not have the key at hand (a support tool
// showing a token). Errors wrap ErrMalformed or ErrSignature.
func ParseTyped(tok, typ string, claims any) (kid string, err error) {
	p, h, err := splitTyped(tok, typ)
	if err != nil {
		return "", err
	}
	if err := decodePayload(p.payload, claims); err != nil {
		return "", err
	}
	return h.Kid, nil
}

func splitTyped(tok, typ string) (parts, typedHeader, error) {
	if len(tok) > MaxBytes {
		return parts{}, typedHeader{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(tok), MaxBytes)
	}
	tok = strings.TrimSpace(tok)
	head, rest, ok1 := strings.Cut(tok, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return parts{}, typedHeader{}, fmt.Errorf("%w: not a compact JWS (three base64url parts separated by '.')", ErrMalformed)
	}
	h, err := checkTypedHeader(head, typ)
	if err != nil {
		return parts{}, typedHeader{}, err
	}
	rawSig, err := b64().DecodeString(sig)
	if err != nil || len(rawSig) != ed25519.SignatureSize {
		return parts{}, typedHeader{}, fmt.Errorf("%w: signature is not %d bytes of base64url", ErrMalformed, ed25519.SignatureSize)
	}
	return parts{signed: tok[:len(head)+1+len(payload)], payload: payload, sig: rawSig}, h, nil
}

func checkTypedHeader(head, typ string) (typedHeader, error) {
	raw, err := b64().DecodeString(head)
	if err != nil {
		return typedHeader{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var h struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Kid  *string         `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeStrictObject(raw, &h); err != nil {
		return typedHeader{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	switch {
	case h.Alg == nil:
		return typedHeader{}, fmt.Errorf("%w: header has no alg", ErrMalformed)
	case *h.Alg != Alg:
		return typedHeader{}, fmt.Errorf("%w: algorithm %q is not accepted, only %s", ErrSignature, *h.Alg, Alg)
	case h.Typ == nil || *h.Typ != typ:
		return typedHeader{}, fmt.Errorf("%w: not a token of type %s", ErrMalformed, typ)
	case h.Kid == nil || *h.Kid == "":
		return typedHeader{}, fmt.Errorf("%w: header has no kid", ErrMalformed)
	case h.Crit != nil:
		return typedHeader{}, fmt.Errorf("%w: crit extensions are not supported", ErrMalformed)
	}
	return typedHeader{Alg: *h.Alg, Typ: *h.Typ, Kid: *h.Kid}, nil
}

func decodePayload(payload string, claims any) error {
	raw, err := b64().DecodeString(payload)
	if err != nil {
		return fmt.Errorf("%w: claims are not base64url", ErrMalformed)
	}
	if err := decodeStrictObject(raw, claims); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return nil
}
