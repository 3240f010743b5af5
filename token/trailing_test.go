package token_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	"github.com/iscdesk/iscdesk/token"
)

// A signed payload whose JSON has anything after its object, a stray closing
// brace too, is refused even with a good signature.
func TestPayloadRefusesTrailingData(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	const typ = "iscdesk-test"
	good, err := token.SignPayload(priv, typ, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.VerifyPayload(good, pub, typ); err != nil {
		t.Fatalf("good payload: %v", err)
	}
	for _, body := range []string{`{"a":1}}`, `{"a":1}]`, `{"a":1} {}`} {
		// Sign the bytes by hand: SignPayload itself refuses them.
		head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"` + typ + `"}`))
		input := head + "." + base64.RawURLEncoding.EncodeToString([]byte(body))
		jws := input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input)))
		if _, err := token.VerifyPayload(jws, pub, typ); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}
