package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// EncodePublicKey is a vendor's public key as the marketplace and the
// sandbox publish it: standard base64 with padding.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey decodes a vendor's Ed25519 public key given as base64
// (standard or URL alphabet, padded or not), as the marketplace and the
// sandbox publish it and vendors embed it in their programs.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	key, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("token: public key is not base64: %w", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("token: public key of %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(key), nil
}
