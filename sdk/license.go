package sdk

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/fingerprint/osid"
	"github.com/iscdesk/iscdesk/token"
)

// A device license is a token of package token: a compact JWS signed with
// the vendor's Ed25519 key. Package token checks the token (format,
// signature, validity period); this file adds what makes it a license for
// this machine: the binding policy of package devinfo, and the OS machine id
// (package osid) as the second factor of a binding to a single unit part.

// DeviceLicense holds the claims of a device license. It is token.Claims,
// under the name the SDK has always given it.
type DeviceLicense = token.Claims

// Device-license errors; test them with errors.Is. The first four are
// package token's errors (the same values), so errors.Is(err,
// token.ErrExpired) holds as well.
var (
	ErrLicenseMalformed   = token.ErrMalformed
	ErrLicenseSignature   = token.ErrSignature
	ErrLicenseExpired     = token.ErrExpired
	ErrLicenseNotYetValid = token.ErrNotYetValid
	ErrLicenseWrongDevice = errors.New("sdk: device license is bound to another device")
)

// VerifyDeviceLicense checks a device license offline and returns its
// claims. It accepts the token only when all of these hold:
//
//   - token.Verify accepts it with pub at now: a compact JWS of at most
//     token.MaxBytes whose header says alg "EdDSA" (never "none" or anything
//     else) and has no crit, with a valid signature by pub, and with iat and
//     nbf not more than token.ClockSkew after now and exp after now;
//   - the claim "dev" and devInfo (the fingerprint of this machine) are the
//     same machine under the binding policy of devinfo.Compare: at least one
//     unit part (MAC, disk serial, board serial) still matches, the CPU
//     never counts as a match, and at most one part changed. A license bound
//     to no unit part (`|||CPU`) verifies nowhere;
//   - when "dev" has a single unit part (a virtual machine's `MAC|||CPU`),
//     or the token carries a "mid" claim at all, "mid" equals this machine's
//     protected OS machine id (osid.DeviceLicenseID), read here.
//
// The error wraps ErrLicenseMalformed, ErrLicenseSignature,
// ErrLicenseExpired, ErrLicenseNotYetValid or ErrLicenseWrongDevice. Claims
// are returned only with a nil error. The vendor's public key, published as
// base64, is read with token.ParsePublicKey.
func VerifyDeviceLicense(tok string, pub ed25519.PublicKey, devInfo string, now time.Time) (DeviceLicense, error) {
	return verifyDeviceLicense(tok, pub, devInfo, osid.DeviceLicenseID, now)
}

// verifyDeviceLicense is VerifyDeviceLicense with this machine's protected
// id read by machineID (for the license code given), which it calls only
// when the token needs it.
func verifyDeviceLicense(tok string, pub ed25519.PublicKey, devInfo string, machineID func(license string) (string, error), now time.Time) (DeviceLicense, error) {
	c, err := token.Verify(tok, pub, now)
	if err != nil {
		return DeviceLicense{}, err
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
		return DeviceLicense{}, fmt.Errorf("%w: %s (changed parts %v)", ErrLicenseWrongDevice, cmp.Reason(), cmp.ChangedParts())
	}
	if c.Machine == "" && !bound.NeedsMachineID() {
		return c, nil
	}
	if c.Machine == "" {
		return DeviceLicense{}, fmt.Errorf("%w: it names a single network card, disk or board and no machine id", ErrLicenseWrongDevice)
	}
	mid, err := machineID(c.License)
	if err != nil {
		return DeviceLicense{}, fmt.Errorf("%w: this machine's id cannot be read to check it: %v", ErrLicenseWrongDevice, err)
	}
	if !osid.Equal(mid, c.Machine) {
		return DeviceLicense{}, fmt.Errorf("%w: the OS machine id differs", ErrLicenseWrongDevice)
	}
	return c, nil
}
