package activation

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/token"
)

// EndorsementType is the JWS typ of a key endorsement: the vendor's previous
// key vouching for its next one, so that a desktop that pinned the previous
// key can take up the next one during a rotation's overlap without a new
// install.
const EndorsementType = "iscdesk-key-endorsement+jwt"

// ErrEndorsement is wrapped when an endorsement does not vouch for a key.
var ErrEndorsement = errors.New("key endorsement is not valid")

// endorsement are its claims.
type endorsement struct {
	Kid       string `json:"kid"`        // token.KeyID of PublicKey
	PublicKey string `json:"public_key"` // standard base64
	IssuedAt  int64  `json:"iat"`
}

// Endorse signs, with the previous vendor key, a statement that next is the
// vendor's next key.
func Endorse(previous ed25519.PrivateKey, next ed25519.PublicKey, now time.Time) (string, error) {
	return token.SignTyped(previous, EndorsementType, endorsement{
		Kid: token.KeyID(next), PublicKey: token.EncodePublicKey(next), IssuedAt: now.Unix(),
	})
}

// VerifyEndorsement checks an endorsement against the trusted keys and
// returns the key it vouches for.
func VerifyEndorsement(tok string, keys Keys) (ed25519.PublicKey, error) {
	var e endorsement
	if _, err := token.VerifyTyped(tok, EndorsementType, keys.lookup, &e); err != nil {
		return nil, err
	}
	pub, err := token.ParsePublicKey(e.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEndorsement, err)
	}
	if token.KeyID(pub) != e.Kid {
		return nil, fmt.Errorf("%w: key id does not match the key", ErrEndorsement)
	}
	return pub, nil
}
