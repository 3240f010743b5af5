package token_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/token"
)

const testType = "iscdesk-test-document"

func TestSignPayload(t *testing.T) {
	priv := testKey()
	pub := priv.Public().(ed25519.PublicKey)
	payload := `{"version":"2.0.0","n":1}`
	tok, err := token.SignPayload(priv, testType, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || b64u([]byte(`{"alg":"EdDSA","typ":"`+testType+`"}`)) != parts[0] || b64u([]byte(payload)) != parts[1] {
		t.Errorf("token %s", tok)
	}
	got, err := token.VerifyPayload(tok+"\n", pub, testType)
	if err != nil || string(got) != payload {
		t.Fatalf("VerifyPayload = %s, %v", got, err)
	}

	for name, c := range map[string]struct {
		priv    ed25519.PrivateKey
		typ     string
		payload string
	}{
		"typ JWT":            {priv, "JWT", payload},
		"typ jwt":            {priv, "jwt", payload},
		"no typ":             {priv, "", payload},
		"typ with a quote":   {priv, `a"b`, payload},
		"payload not object": {priv, testType, `[1]`},
		"payload not JSON":   {priv, testType, `{`},
		"payload and more":   {priv, testType, payload + `{}`},
		"too big":            {priv, testType, `{"x":"` + strings.Repeat("x", token.MaxBytes) + `"}`},
		"short key":          {priv[:10], testType, payload},
	} {
		if tok, err := token.SignPayload(c.priv, c.typ, []byte(c.payload)); err == nil {
			t.Errorf("%s: signed %s", name, tok)
		}
	}
}

func TestSignPayloadKid(t *testing.T) {
	priv := testKey()
	pub := priv.Public().(ed25519.PublicKey)
	payload := `{"version":"2.0.0"}`
	tok, err := token.SignPayloadKid(priv, testType, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if head := strings.Split(tok, ".")[0]; head != b64u([]byte(`{"alg":"EdDSA","typ":"`+testType+`","kid":"`+token.KeyID(pub)+`"}`)) {
		t.Errorf("header %s", head)
	}
	if got, err := token.VerifyPayload(tok, pub, testType); err != nil || string(got) != payload {
		t.Fatalf("VerifyPayload = %s, %v", got, err)
	}
	if _, err := token.SignPayloadKid(priv, "JWT", []byte(payload)); err == nil {
		t.Error("typ JWT signed")
	}
}

func TestVerifyPayload(t *testing.T) {
	priv := testKey()
	pub := priv.Public().(ed25519.PublicKey)
	_, other, _ := ed25519.GenerateKey(nil)
	const payload = `{"version":"2.0.0"}`
	head := `{"alg":"EdDSA","typ":"` + testType + `"}`
	valid := rawToken(priv, head, payload)
	parts := strings.Split(valid, ".")
	license, err := token.Sign(priv, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		tok  string
		pub  ed25519.PublicKey
		want error // nil: accepted
	}{
		{"valid", valid, pub, nil},
		{"with a kid", rawToken(priv, `{"alg":"EdDSA","typ":"`+testType+`","kid":"v1"}`, payload), pub, nil},
		{"no key", valid, nil, token.ErrSignature},
		{"short key", valid, pub[:31], token.ErrSignature},
		{"another key", rawToken(other, head, payload), pub, token.ErrSignature},
		{"tampered payload", parts[0] + "." + b64u([]byte(`{"version":"9.0.0"}`)) + "." + parts[2], pub, token.ErrSignature},
		{"tampered header", b64u([]byte(`{"alg":"EdDSA","typ":"other"}`)) + "." + parts[1] + "." + parts[2], pub, token.ErrSignature},
		{"alg none", b64u([]byte(`{"alg":"none","typ":"`+testType+`"}`)) + "." + parts[1] + ".", pub, token.ErrMalformed},
		{"alg none signed", rawToken(priv, `{"alg":"none","typ":"`+testType+`"}`, payload), pub, token.ErrSignature},
		{"no typ", rawToken(priv, `{"alg":"EdDSA"}`, payload), pub, token.ErrSignature},
		{"another typ", rawToken(priv, `{"alg":"EdDSA","typ":"JWT"}`, payload), pub, token.ErrSignature},
		{"a device license", license, pub, token.ErrSignature},
		{"crit", rawToken(priv, `{"alg":"EdDSA","typ":"`+testType+`","crit":["x"]}`, payload), pub, token.ErrMalformed},
		{"header not JSON", rawToken(priv, `alg`, payload), pub, token.ErrMalformed},
		{"payload an array", rawToken(priv, head, `[]`), pub, token.ErrMalformed},
		{"payload and more", rawToken(priv, head, payload+`1`), pub, token.ErrMalformed},
		{"unsigned JSON", payload, pub, token.ErrMalformed},
		{"empty", "", pub, token.ErrMalformed},
		{"four parts", valid + ".x", pub, token.ErrMalformed},
		{"padded signature", valid + "==", pub, token.ErrMalformed},
		{"too big", valid + strings.Repeat(" ", token.MaxBytes), pub, token.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := token.VerifyPayload(c.tok, c.pub, testType)
			if c.want == nil {
				if err != nil || string(got) != payload {
					t.Fatalf("VerifyPayload = %s, %v", got, err)
				}
				return
			}
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("VerifyPayload = %s, %v; want %v", got, err, c.want)
			}
			if strings.Contains(err.Error(), "device license") {
				t.Errorf("error speaks of a device license: %v", err)
			}
		})
	}
	// And the other way: a signed document is no device license.
	if _, err := token.Verify(valid, pub, now); !errors.Is(err, token.ErrMalformed) {
		t.Errorf("Verify accepted a signed document as a device license: %v", err)
	}
	if _, err := token.VerifyPayload(valid, pub, "JWT"); err == nil {
		t.Error("VerifyPayload with typ JWT")
	}
}
