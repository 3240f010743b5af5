package sdk_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/sdk"
)

// licenseNow is the clock of the license tests.
var licenseNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testClaims() sdk.DeviceLicense {
	return sdk.DeviceLicense{
		Issuer: "sandbox", License: "LIC-TEST-0001", DevInfo: testDevInfo, ProductID: "P-1",
		IssuedAt: licenseNow.Add(-time.Hour).Unix(), NotBefore: licenseNow.Add(-time.Hour).Unix(),
		Expires: licenseNow.Add(24 * time.Hour).Unix(), ID: "jti-1",
	}
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawToken signs any header and payload, bypassing SignDeviceLicense's own
// checks, to make tokens a broken or hostile issuer could make.
func rawToken(priv ed25519.PrivateKey, header, payload string) string {
	s := b64u([]byte(header)) + "." + b64u([]byte(payload))
	return s + "." + b64u(ed25519.Sign(priv, []byte(s)))
}

func claimsJSON(t testing.TB, c sdk.DeviceLicense) string {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignDeviceLicense(t *testing.T) {
	priv := testVendorKey()
	tok, err := sdk.SignDeviceLicense(priv, testClaims())
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
	want := `{"iss":"sandbox","sub":"LIC-TEST-0001","dev":"` + testDevInfo + `","pid":"P-1","iat":1748775600,"nbf":1748775600,"exp":1748865600,"jti":"jti-1"}`
	if string(p) != want {
		t.Errorf("claims\n got %s\nwant %s", p, want)
	}

	for name, c := range map[string]sdk.DeviceLicense{
		"no exp":      {License: "L", DevInfo: testDevInfo},
		"bad devInfo": {License: "L", DevInfo: "not a fingerprint", Expires: 1},
		"too big":     {License: strings.Repeat("L", sdk.MaxLicenseBytes), DevInfo: testDevInfo, Expires: 1},
	} {
		if _, err := sdk.SignDeviceLicense(priv, c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := sdk.SignDeviceLicense(priv[:10], testClaims()); err == nil {
		t.Error("signed with a short key")
	}
}

func TestVerifyDeviceLicense(t *testing.T) {
	priv := testVendorKey()
	pub := priv.Public().(ed25519.PublicKey)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	sign := func(mod func(*sdk.DeviceLicense)) string {
		c := testClaims()
		if mod != nil {
			mod(&c)
		}
		tok, err := sdk.SignDeviceLicense(priv, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := sign(nil)
	parts := strings.Split(valid, ".")
	const header = `{"alg":"EdDSA","typ":"JWT"}`
	payload := claimsJSON(t, testClaims())

	cases := []struct {
		name    string
		token   string
		pub     ed25519.PublicKey
		devInfo string
		now     time.Time
		err     error // nil: valid
	}{
		{name: "valid", token: valid},
		{name: "valid with trailing newline (license file)", token: valid + "\n"},
		{name: "header without typ", token: rawToken(priv, `{"alg":"EdDSA"}`, payload)},
		{name: "header with kid", token: rawToken(priv, `{"alg":"EdDSA","typ":"JWT","kid":"v1"}`, payload)},
		{name: "only required claims", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDevInfo+`","exp":1748865600}`)},
		{name: "nbf within the clock skew", token: sign(func(c *sdk.DeviceLicense) { c.NotBefore = licenseNow.Add(4 * time.Minute).Unix() })},
		{name: "iat within the clock skew", token: sign(func(c *sdk.DeviceLicense) { c.IssuedAt = licenseNow.Add(4 * time.Minute).Unix() })},
		{name: "one part replaced (new network card)", token: valid, devInfo: "02:00:00:00:00:99|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"},
		{name: "a network card added", token: valid, devInfo: "02:00:00:00:00:99,04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"},

		{name: "expired", token: valid, now: licenseNow.Add(25 * time.Hour), err: sdk.ErrLicenseExpired},
		{name: "expires exactly now", token: sign(func(c *sdk.DeviceLicense) { c.Expires = licenseNow.Unix() }), err: sdk.ErrLicenseExpired},
		{name: "nbf beyond the clock skew", token: sign(func(c *sdk.DeviceLicense) { c.NotBefore = licenseNow.Add(6 * time.Minute).Unix() }), err: sdk.ErrLicenseNotYetValid},
		{name: "iat beyond the clock skew", token: sign(func(c *sdk.DeviceLicense) { c.IssuedAt = licenseNow.Add(6 * time.Minute).Unix() }), err: sdk.ErrLicenseNotYetValid},
		{name: "two parts replaced", token: valid, devInfo: "02:00:00:00:00:99|OTHERDISK|PF0ABC12|BFEBFBFF00090672", err: sdk.ErrLicenseWrongDevice},
		{name: "another machine", token: valid, devInfo: "02:00:00:00:00:99|OTHERDISK|OTHERBOARD|OTHERCPU", err: sdk.ErrLicenseWrongDevice},
		{name: "a part hidden", token: valid, devInfo: "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||", err: sdk.ErrLicenseWrongDevice},

		{name: "other key", token: rawToken(otherPriv, header, payload), err: sdk.ErrLicenseSignature},
		{name: "tampered claims", token: parts[0] + "." + b64u([]byte(strings.Replace(payload, "LIC-TEST-0001", "LIC-TEST-0002", 1))) + "." + parts[2], err: sdk.ErrLicenseSignature},
		{name: "alg none", token: b64u([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", err: sdk.ErrLicenseSignature},
		{name: "alg none with a signature", token: b64u([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2], err: sdk.ErrLicenseSignature},
		{name: "alg HS256", token: rawToken(priv, `{"alg":"HS256","typ":"JWT"}`, payload), err: sdk.ErrLicenseSignature},
		{name: "alg Ed25519 (not the JOSE name)", token: rawToken(priv, `{"alg":"Ed25519"}`, payload), err: sdk.ErrLicenseSignature},
		{name: "public key of the wrong size", token: valid, pub: pub[:16], err: sdk.ErrLicenseSignature},

		{name: "empty", token: "", err: sdk.ErrLicenseMalformed},
		{name: "two parts", token: parts[0] + "." + parts[1], err: sdk.ErrLicenseMalformed},
		{name: "four parts", token: valid + ".x", err: sdk.ErrLicenseMalformed},
		{name: "padded base64", token: parts[0] + "." + parts[1] + "." + parts[2] + "==", err: sdk.ErrLicenseMalformed},
		{name: "standard base64 alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(valid), err: sdk.ErrLicenseMalformed},
		{name: "too big", token: valid + strings.Repeat("A", sdk.MaxLicenseBytes), err: sdk.ErrLicenseMalformed},
		{name: "no alg", token: rawToken(priv, `{"typ":"JWT"}`, payload), err: sdk.ErrLicenseMalformed},
		{name: "typ not JWT", token: rawToken(priv, `{"alg":"EdDSA","typ":"JOSE+JSON"}`, payload), err: sdk.ErrLicenseMalformed},
		{name: "crit", token: rawToken(priv, `{"alg":"EdDSA","crit":["exp2"],"exp2":1}`, payload), err: sdk.ErrLicenseMalformed},
		{name: "header not JSON", token: rawToken(priv, `alg=EdDSA`, payload), err: sdk.ErrLicenseMalformed},
		{name: "claims not an object", token: rawToken(priv, header, `[1,2]`), err: sdk.ErrLicenseMalformed},
		{name: "claims followed by data", token: rawToken(priv, header, payload+`{}`), err: sdk.ErrLicenseMalformed},
		{name: "exp missing", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDevInfo+`"}`), err: sdk.ErrLicenseMalformed},
		{name: "exp a string", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDevInfo+`","exp":"soon"}`), err: sdk.ErrLicenseMalformed},
		{name: "dev not a fingerprint", token: rawToken(priv, header, `{"sub":"L","dev":"ABC","exp":1748865600}`), err: sdk.ErrLicenseMalformed},
		{name: "devInfo argument not a fingerprint", token: valid, devInfo: "ABC", err: sdk.ErrLicenseMalformed},
		{name: "short signature", token: parts[0] + "." + parts[1] + "." + parts[2][:40], err: sdk.ErrLicenseMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, dev, now := tc.pub, tc.devInfo, tc.now
			if key == nil {
				key = pub
			}
			if dev == "" {
				dev = testDevInfo
			}
			if now.IsZero() {
				now = licenseNow
			}
			got, err := sdk.VerifyDeviceLicense(tc.token, key, dev, now)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if got.License == "" || got.DevInfo != testDevInfo {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != (sdk.DeviceLicense{}) {
				t.Errorf("claims returned with an error: %+v", got)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	pub := testVendorKey().Public().(ed25519.PublicKey)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(pub),
		base64.RawStdEncoding.EncodeToString(pub),
		base64.URLEncoding.EncodeToString(pub),
		" " + base64.RawURLEncoding.EncodeToString(pub) + "\n",
	} {
		got, err := sdk.ParsePublicKey(s)
		if err != nil || !bytes.Equal(got, pub) {
			t.Errorf("ParsePublicKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "!!!", base64.StdEncoding.EncodeToString(pub[:31]), base64.StdEncoding.EncodeToString(append(pub, 0))} {
		if _, err := sdk.ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		}
	}
}

// FuzzVerifyDeviceLicense: no token makes the verifier panic, and nothing but
// the tokens actually signed with the key is ever accepted.
func FuzzVerifyDeviceLicense(f *testing.F) {
	priv := testVendorKey()
	pub := priv.Public().(ed25519.PublicKey)
	signed := map[string]bool{}
	add := func(tok string) {
		signed[tok] = true
		f.Add(tok, testDevInfo)
	}
	c := testClaims()
	tok, err := sdk.SignDeviceLicense(priv, c)
	if err != nil {
		f.Fatal(err)
	}
	add(tok)
	add(rawToken(priv, `{"alg":"EdDSA"}`, `{"sub":"L","dev":"|||","exp":1748865600}`))
	add(rawToken(priv, `{"alg":"EdDSA","typ":"JWT"}`, `{"dev":"`+testDevInfo+`","exp":1748865600,"nbf":1748775600}`))
	f.Add(b64u([]byte(`{"alg":"none"}`))+"."+b64u([]byte(`{"dev":"|||","exp":9999999999}`))+".", "|||")
	f.Add("..", "|||")
	f.Add("a.b.c", "")
	f.Fuzz(func(t *testing.T, token, devInfo string) {
		got, err := sdk.VerifyDeviceLicense(token, pub, devInfo, licenseNow)
		if err != nil {
			if got != (sdk.DeviceLicense{}) {
				t.Fatalf("claims returned with an error: %+v", got)
			}
			return
		}
		if !signed[strings.TrimSpace(token)] {
			t.Fatalf("accepted a token that was never signed: %q", token)
		}
	})
}
