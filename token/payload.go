package token

// Signed payloads other than device licenses: a compact JWS whose header
// names what the payload is (typ, RFC 8725 §3.11 explicit typing), so that
// no token signed by the vendor key passes for another kind: a device
// license (typ JWT) is never an update manifest, nor the reverse.

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
)

// payloadError is an error of SignPayload and VerifyPayload: its text
// speaks of the token, not of a device license, and it unwraps to
// ErrMalformed or ErrSignature.
type payloadError struct {
	is  error
	msg string
}

func (e *payloadError) Error() string { return e.msg }
func (e *payloadError) Unwrap() error { return e.is }

func malformed(format string, a ...any) error {
	return &payloadError{is: ErrMalformed, msg: "signed token is malformed: " + fmt.Sprintf(format, a...)}
}

func badSignature(format string, a ...any) error {
	return &payloadError{is: ErrSignature, msg: fmt.Sprintf(format, a...)}
}

// checkType accepts a typ for a signed payload: a short media-type-like
// name, never JWT (the device licenses').
func checkType(typ string) error {
	if typ == "" || len(typ) > 64 || strings.EqualFold(typ, "JWT") {
		return fmt.Errorf("token: typ %q: want a name of its own, not empty or JWT", typ)
	}
	for _, r := range typ {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".+-_/", r)) {
			return fmt.Errorf("token: typ %q: only letters, digits and .+-_/", typ)
		}
	}
	return nil
}

// SignPayload signs payload, one JSON object, with the vendor's private key
// as a compact JWS with header {"alg":"EdDSA","typ":typ}. typ names what
// the payload is (e.g. "iscdesk-update-manifest") and may not be JWT.
func SignPayload(priv ed25519.PrivateKey, typ string, payload []byte) (string, error) {
	return signPayload(priv, typ, false, payload)
}

// SignPayloadKid is SignPayload with the signing key's id (KeyID) in the
// header as "kid", as typed tokens have it, so that a reader holding
// several vendor keys can tell which one signed. VerifyPayload ignores it.
func SignPayloadKid(priv ed25519.PrivateKey, typ string, payload []byte) (string, error) {
	return signPayload(priv, typ, true, payload)
}

func signPayload(priv ed25519.PrivateKey, typ string, withKid bool, payload []byte) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("token: sign: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := checkType(typ); err != nil {
		return "", err
	}
	var obj map[string]json.RawMessage
	if err := decodeStrictObject(payload, &obj); err != nil {
		return "", fmt.Errorf("token: sign: payload: %v", err)
	}
	h := struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}{Alg: Alg, Typ: typ}
	if withKid {
		h.Kid = KeyID(priv.Public().(ed25519.PublicKey))
	}
	head, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	signing := b64().EncodeToString(head) + "." + b64().EncodeToString(payload)
	tok := signing + "." + b64().EncodeToString(ed25519.Sign(priv, []byte(signing)))
	if len(tok) > MaxBytes {
		return "", fmt.Errorf("token: sign: token of %d bytes, more than %d", len(tok), MaxBytes)
	}
	return tok, nil
}

// VerifyPayload checks a token SignPayload made and returns its payload. It
// verifies pub's signature before it reads anything of the token but its
// shape (three base64url parts of at most MaxBytes in all): the header and
// the payload are decoded only once they are known to be the vendor's.
// Then the header must say alg "EdDSA" and exactly typ, with no crit, and
// the payload must be one JSON object. Surrounding white space is ignored.
//
// The error wraps ErrSignature (no key, a key of the wrong size, a
// signature pub did not make, another alg or typ) or ErrMalformed; the
// payload is returned only with a nil error.
func VerifyPayload(tok string, pub ed25519.PublicKey, typ string) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, badSignature("no public key to verify the signature with (got %d bytes, want %d)", len(pub), ed25519.PublicKeySize)
	}
	if err := checkType(typ); err != nil {
		return nil, err
	}
	if len(tok) > MaxBytes {
		return nil, malformed("%d bytes, more than %d", len(tok), MaxBytes)
	}
	tok = strings.TrimSpace(tok)
	head, rest, ok1 := strings.Cut(tok, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return nil, malformed("not a compact JWS (three base64url parts separated by '.'): is the answer signed?")
	}
	rawSig, err := b64().DecodeString(sig)
	if err != nil || len(rawSig) != ed25519.SignatureSize {
		return nil, malformed("signature is not %d bytes of base64url", ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, []byte(tok[:len(head)+1+len(payload)]), rawSig) {
		return nil, badSignature("signature is not valid for the pinned key")
	}
	// Signed by the key's holder from here on.
	if err := checkPayloadHeader(head, typ); err != nil {
		return nil, err
	}
	raw, err := b64().DecodeString(payload)
	if err != nil {
		return nil, malformed("payload is not base64url")
	}
	var obj map[string]json.RawMessage
	if err := decodeStrictObject(raw, &obj); err != nil {
		return nil, malformed("payload: %v", err)
	}
	return raw, nil
}

// checkPayloadHeader accepts alg EdDSA, typ exactly typ, and no crit.
func checkPayloadHeader(head, typ string) error {
	raw, err := b64().DecodeString(head)
	if err != nil {
		return malformed("header is not base64url")
	}
	var h struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeStrictObject(raw, &h); err != nil {
		return malformed("header: %v", err)
	}
	switch {
	case h.Alg == nil || *h.Alg != Alg:
		return badSignature("algorithm is not %s", Alg)
	case h.Typ == nil || *h.Typ != typ:
		return badSignature("token is not of type %q", typ)
	case h.Crit != nil:
		return malformed("crit extensions are not supported")
	}
	return nil
}
