package sdk_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/osid"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/token"
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

// rawToken signs any header and payload, bypassing token.Sign's own checks,
// to make tokens a broken or hostile issuer could make.
func rawToken(priv ed25519.PrivateKey, header, payload string) string {
	s := b64u([]byte(header)) + "." + b64u([]byte(payload))
	return s + "." + b64u(ed25519.Sign(priv, []byte(s)))
}

// The token itself (format, signature, time) is package token's and tested
// there; these cases are the device binding, and one of each token error to
// show that they come through under the sdk's names.
func TestVerifyDeviceLicense(t *testing.T) {
	priv := testVendorKey()
	pub := priv.Public().(ed25519.PublicKey)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	valid, err := token.Sign(priv, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	const header = `{"alg":"EdDSA","typ":"JWT"}`

	cases := []struct {
		name    string
		token   string
		devInfo string
		now     time.Time
		err     error // nil: valid
	}{
		{name: "valid", token: valid},
		{name: "only required claims", token: rawToken(priv, header, `{"sub":"L","dev":"`+testDevInfo+`","exp":1748865600}`)},
		{name: "one part replaced (new network card)", token: valid, devInfo: "02:00:00:00:00:99|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"},
		{name: "a network card added", token: valid, devInfo: "02:00:00:00:00:99,04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"},

		{name: "two parts replaced", token: valid, devInfo: "02:00:00:00:00:99|OTHERDISK|PF0ABC12|BFEBFBFF00090672", err: sdk.ErrLicenseWrongDevice},
		{name: "another machine", token: valid, devInfo: "02:00:00:00:00:99|OTHERDISK|OTHERBOARD|OTHERCPU", err: sdk.ErrLicenseWrongDevice},
		{name: "a part hidden", token: valid, devInfo: "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||", err: sdk.ErrLicenseWrongDevice},
		{name: "dev not a fingerprint", token: rawToken(priv, header, `{"sub":"L","dev":"ABC","exp":1748865600}`), err: sdk.ErrLicenseMalformed},
		{name: "dev missing", token: rawToken(priv, header, `{"sub":"L","exp":1748865600}`), err: sdk.ErrLicenseMalformed},
		{name: "devInfo argument not a fingerprint", token: valid, devInfo: "ABC", err: sdk.ErrLicenseMalformed},

		{name: "expired", token: valid, now: licenseNow.Add(25 * time.Hour), err: sdk.ErrLicenseExpired},
		{name: "not yet valid", token: valid, now: licenseNow.Add(-2 * time.Hour), err: sdk.ErrLicenseNotYetValid},
		{name: "other key", token: rawToken(otherPriv, header, `{"sub":"L","dev":"`+testDevInfo+`","exp":1748865600}`), err: sdk.ErrLicenseSignature},
		{name: "not a JWS", token: "a.b", err: sdk.ErrLicenseMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev, now := tc.devInfo, tc.now
			if dev == "" {
				dev = testDevInfo
			}
			if now.IsZero() {
				now = licenseNow
			}
			got, err := sdk.VerifyDeviceLicense(tc.token, pub, dev, now)
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

// The binding policy of devinfo and the machine id, on signed tokens: the
// fingerprint a license is bound to ("dev", and "mid" when it has one) and
// the machine that checks it (its devInfo and its protected OS machine id).
func TestVerifyDeviceLicenseBinding(t *testing.T) {
	priv := testVendorKey()
	pub := priv.Public().(ed25519.PublicKey)
	const (
		vmA     = "52:54:00:00:00:01|||BFEBFBFF000906EA"
		vmB     = "52:54:00:00:00:02|||BFEBFBFF000906EA"
		cpuOnly = "|||BFEBFBFF000906EA"
	)
	// Machine ids as osid.Protect derives them for the test's code.
	idA, _ := osid.Protect("3d1217d1a0b64c5c9a2f0e5b8c7d6e4f", "LIC-TEST-0001")
	idB, _ := osid.Protect("9e9217d1a0b64c5c9a2f0e5b8c7d6e4f", "LIC-TEST-0001")
	sign := func(dev, mid string) string {
		c := testClaims()
		c.DevInfo, c.Machine = dev, mid
		tok, err := token.Sign(priv, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name    string
		token   string
		devInfo string
		here    string // this machine's protected id; "" cannot be read
		ok      bool
	}{
		{"CPU-only license on the same CPU model", sign(cpuOnly, ""), cpuOnly, idA, false},
		{"CPU-only license on a full machine with that CPU", sign(cpuOnly, ""), "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF000906EA", idA, false},
		{"empty license on an empty fingerprint", sign("|||", ""), "|||", idA, false},
		{"VM license without machine id on another VM of that CPU model", sign(vmA, ""), vmB, idB, false},
		{"VM license without machine id on its own VM", sign(vmA, ""), vmA, idA, false},
		{"VM license on its own VM after a reboot", sign(vmA, idA), vmA, idA, true},
		{"VM license on its VM moved to another CPU model", sign(vmA, idA), "52:54:00:00:00:01|||BFEBFBFF000A0671", idA, true},
		{"VM license on another VM given the same MAC", sign(vmA, idA), vmA, idB, false},
		{"VM license on another VM with its own MAC", sign(vmA, idA), vmB, idB, false},
		{"VM license where the machine id cannot be read", sign(vmA, idA), vmA, "", false},
		{"full license with a machine id, checked", sign(testDevInfo, idA), testDevInfo, idA, true},
		{"full license with another machine's id", sign(testDevInfo, idA), testDevInfo, idB, false},
		{"full license without a machine id (never read)", sign(testDevInfo, ""), testDevInfo, "", true},
		{"container license on another host of that CPU model", sign("|HOSTDISK1||BFEBFBFF000906EA", idA), "|OTHERDISK||BFEBFBFF000906EA", idA, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			machineID := func(license string) (string, error) {
				if license != "LIC-TEST-0001" {
					t.Errorf("machine id asked for %q", license)
				}
				if tc.here == "" {
					return "", osid.ErrUnavailable
				}
				return tc.here, nil
			}
			got, err := sdk.VerifyDeviceLicenseWith(tc.token, pub, tc.devInfo, machineID, licenseNow)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, sdk.ErrLicenseWrongDevice) || got != (sdk.DeviceLicense{})) {
				t.Fatalf("err = %v with claims %+v, want ErrLicenseWrongDevice and none", err, got)
			}
		})
	}
	// The exported function reads this machine's id itself: a VM license
	// for a made-up id is refused whatever this machine's id is.
	if _, err := sdk.VerifyDeviceLicense(sign(vmA, strings.Repeat("0", 64)), pub, vmA, licenseNow); !errors.Is(err, sdk.ErrLicenseWrongDevice) {
		t.Fatalf("a VM license for another machine id: %v", err)
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
	tok, err := token.Sign(priv, testClaims())
	if err != nil {
		f.Fatal(err)
	}
	add(tok)
	add(rawToken(priv, `{"alg":"EdDSA"}`, `{"sub":"L","dev":"|||","exp":1748865600}`))
	add(rawToken(priv, `{"alg":"EdDSA","typ":"JWT"}`, `{"dev":"`+testDevInfo+`","exp":1748865600,"nbf":1748775600}`))
	f.Add(b64u([]byte(`{"alg":"none"}`))+"."+b64u([]byte(`{"dev":"|||","exp":9999999999}`))+".", "|||")
	f.Add("..", "|||")
	f.Add("a.b.c", "")
	f.Fuzz(func(t *testing.T, tok, devInfo string) {
		got, err := sdk.VerifyDeviceLicense(tok, pub, devInfo, licenseNow)
		if err != nil {
			if got != (sdk.DeviceLicense{}) {
				t.Fatalf("claims returned with an error: %+v", got)
			}
			return
		}
		if !signed[strings.TrimSpace(tok)] {
			t.Fatalf("accepted a token that was never signed: %q", tok)
		}
	})
}
