package token_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/token"
)

// now is the clock of the tests.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testDev is the claim "dev": this package does not read it, so any string
// would do; a real fingerprint keeps the tokens realistic.
const testDev = "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"

func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func testClaims() token.Claims {
	return token.Claims{
		Issuer: "sandbox", License: "LIC-TEST-0001", DevInfo: testDev, ProductID: "P-1",
		IssuedAt: now.Add(-time.Hour).Unix(), NotBefore: now.Add(-time.Hour).Unix(),
		Expires: now.Add(24 * time.Hour).Unix(), ID: "jti-1",
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawToken signs any header and payload, bypassing Sign's own checks, to
// make tokens a broken or hostile issuer could make.
func rawToken(priv ed25519.PrivateKey, header, payload string) string {
	s := b64u([]byte(header)) + "." + b64u([]byte(payload))
	return s + "." + b64u(ed25519.Sign(priv, []byte(s)))
}

func claimsJSON(t testing.TB, c token.Claims) string {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSign(t *testing.T) {
	priv := testKey()
	tok, err := token.Sign(priv, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || strings.Contains(tok, "=") {
		t.Fatalf("token %q is not compact unpadded JWS", tok)
	}
	if h, _ := base64.RawURLEncoding.DecodeString(parts[0]); string(h) != `{"alg":"EdDSA","typ":"JWT"}` {
		t.Errorf("header = %s", h)
	}
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	want := `{"iss":"sandbox","sub":"LIC-TEST-0001","dev":"` + testDev + `","pid":"P-1","iat":1748775600,"nbf":1748775600,"exp":1748865600,"jti":"jti-1"}`
	if string(p) != want {
		t.Errorf("claims\n got %s\nwant %s", p, want)
	}

	for name, c := range map[string]token.Claims{
		"no exp":  {License: "L", DevInfo: testDev},
		"too big": {License: strings.Repeat("L", token.MaxBytes), DevInfo: testDev, Expires: 1},
	} {
		if _, err := token.Sign(priv, c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := token.Sign(priv[:10], testClaims()); err == nil {
		t.Error("signed with a short key")
	}
}

// verifyCases are tokens and what Verify says of them at now with the
// public half of testKey, unless the case names another key or time.
func verifyCases(t *testing.T) []verifyCase {
	priv := testKey()
	pub := priv.Public().(ed25519.PublicKey)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	sign := func(mod func(*token.Claims)) string {
		c := testClaims()
		if mod != nil {
			mod(&c)
		}
		tok, err := token.Sign(priv, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := sign(nil)
	parts := strings.Split(valid, ".")
	const header = `{"alg":"EdDSA","typ":"JWT"}`
	payload := claimsJSON(t, testClaims())

	return []verifyCase{
		{name: "valid", token: valid},
		{name: "valid with trailing newline (license file)", token: valid + "\n"},
		{name: "header without typ", token: rawToken(priv, `{"alg":"EdDSA"}`, payload)},
		{name: "header with kid", token: rawToken(priv, `{"alg":"EdDSA","typ":"JWT","kid":"v1"}`, payload)},
		{name: "only exp", token: rawToken(priv, header, `{"exp":1748865600}`)},
		{name: "nbf within the clock skew", token: sign(func(c *token.Claims) { c.NotBefore = now.Add(4 * time.Minute).Unix() })},
		{name: "iat within the clock skew", token: sign(func(c *token.Claims) { c.IssuedAt = now.Add(4 * time.Minute).Unix() })},

		{name: "expired", token: valid, now: now.Add(25 * time.Hour), err: token.ErrExpired},
		{name: "expires exactly now", token: sign(func(c *token.Claims) { c.Expires = now.Unix() }), err: token.ErrExpired},
		{name: "nbf beyond the clock skew", token: sign(func(c *token.Claims) { c.NotBefore = now.Add(6 * time.Minute).Unix() }), err: token.ErrNotYetValid},
		{name: "iat beyond the clock skew", token: sign(func(c *token.Claims) { c.IssuedAt = now.Add(6 * time.Minute).Unix() }), err: token.ErrNotYetValid},

		{name: "other key", token: rawToken(otherPriv, header, payload), err: token.ErrSignature, unsigned: true},
		{name: "tampered claims", token: parts[0] + "." + b64u([]byte(strings.Replace(payload, "LIC-TEST-0001", "LIC-TEST-0002", 1))) + "." + parts[2], err: token.ErrSignature, unsigned: true},
		{name: "alg none", token: b64u([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", err: token.ErrSignature},
		{name: "alg none with a signature", token: b64u([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2], err: token.ErrSignature},
		{name: "alg HS256", token: rawToken(priv, `{"alg":"HS256","typ":"JWT"}`, payload), err: token.ErrSignature},
		{name: "alg Ed25519 (not the JOSE name)", token: rawToken(priv, `{"alg":"Ed25519"}`, payload), err: token.ErrSignature},
		{name: "public key of the wrong size", token: valid, pub: pub[:16], err: token.ErrSignature, unsigned: true},

		{name: "empty", token: "", err: token.ErrMalformed},
		{name: "two parts", token: parts[0] + "." + parts[1], err: token.ErrMalformed},
		{name: "four parts", token: valid + ".x", err: token.ErrMalformed},
		{name: "padded base64", token: parts[0] + "." + parts[1] + "." + parts[2] + "==", err: token.ErrMalformed},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid), err: token.ErrMalformed},
		{name: "too big", token: valid + strings.Repeat("A", token.MaxBytes), err: token.ErrMalformed},
		{name: "no alg", token: rawToken(priv, `{"typ":"JWT"}`, payload), err: token.ErrMalformed},
		{name: "typ not JWT", token: rawToken(priv, `{"alg":"EdDSA","typ":"JOSE+JSON"}`, payload), err: token.ErrMalformed},
		{name: "crit", token: rawToken(priv, `{"alg":"EdDSA","crit":["exp2"],"exp2":1}`, payload), err: token.ErrMalformed},
		{name: "header not JSON", token: rawToken(priv, `alg=EdDSA`, payload), err: token.ErrMalformed},
		{name: "claims not an object", token: rawToken(priv, header, `[1,2]`), err: token.ErrMalformed},
		{name: "claims followed by data", token: rawToken(priv, header, payload+`{}`), err: token.ErrMalformed},
		{name: "exp missing", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDev+`"}`), err: token.ErrMalformed},
		{name: "exp a string", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDev+`","exp":"soon"}`), err: token.ErrMalformed},
		{name: "short signature", token: parts[0] + "." + parts[1] + "." + parts[2][:40], err: token.ErrMalformed},
	}
}

type verifyCase struct {
	name  string
	token string
	pub   ed25519.PublicKey
	now   time.Time
	err   error // nil: valid
	// unsigned: the token is well formed but pub did not sign it, so Parse
	// accepts what Verify refuses.
	unsigned bool
}

func TestVerify(t *testing.T) {
	pub := testKey().Public().(ed25519.PublicKey)
	for _, tc := range verifyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			key, at := tc.pub, tc.now
			if key == nil {
				key = pub
			}
			if at.IsZero() {
				at = now
			}
			got, err := token.Verify(tc.token, key, at)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if got.Expires == 0 {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != (token.Claims{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
		})
	}
}

// Parse accepts what Verify accepts, and besides only what fails Verify
// for its signature or its time.
func TestParse(t *testing.T) {
	for _, tc := range verifyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := token.Parse(tc.token)
			ok := tc.err == nil || tc.unsigned || errors.Is(tc.err, token.ErrExpired) || errors.Is(tc.err, token.ErrNotYetValid)
			if ok {
				if err != nil || got.Expires == 0 {
					t.Fatalf("Parse = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != (token.Claims{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
		})
	}
	c, err := token.Parse(rawToken(testKey(), `{"alg":"EdDSA"}`, claimsJSON(t, testClaims())))
	if err != nil || c != testClaims() {
		t.Errorf("Parse = %+v, %v; want %+v", c, err, testClaims())
	}
}

func TestPublicKey(t *testing.T) {
	pub := testKey().Public().(ed25519.PublicKey)
	if got := token.EncodePublicKey(pub); got != base64.StdEncoding.EncodeToString(pub) {
		t.Errorf("EncodePublicKey = %q", got)
	}
	for _, s := range []string{
		token.EncodePublicKey(pub),
		base64.RawStdEncoding.EncodeToString(pub),
		base64.URLEncoding.EncodeToString(pub),
		" " + base64.RawURLEncoding.EncodeToString(pub) + "\n",
	} {
		got, err := token.ParsePublicKey(s)
		if err != nil || !bytes.Equal(got, pub) {
			t.Errorf("ParsePublicKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "!!!", base64.StdEncoding.EncodeToString(pub[:31]), base64.StdEncoding.EncodeToString(append(pub, 0))} {
		if _, err := token.ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		}
	}
}
