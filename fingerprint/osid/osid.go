// Package osid reads the operating system's machine id and derives from it
// the protected id that a device license bound to a single unit part carries
// as a second factor (see package devinfo, NeedsMachineID).
//
// The raw id is the one the OS keeps for the installation: /etc/machine-id
// on Linux (systemd; /var/lib/dbus/machine-id where it is missing), the
// MachineGuid of HKLM\SOFTWARE\Microsoft\Cryptography on Windows, the
// IOPlatformUUID on macOS. It survives reboots and is the same for every
// user; it changes when the OS is reinstalled, and clones of a virtual
// machine keep it unless they are generalised.
//
// The raw id never leaves the machine: a device license carries Protect's
// one-way derivation of it, so whoever reads a token cannot write the id into
// another virtual machine. The derivation includes the license code, so the
// tokens of two vendors on one machine carry different values.
//
// It imports only the standard library: package sdk, which vendors compile
// into their products, checks the second factor with it, and the agent binds
// it with the same code, so that both sides always derive the same value.
package osid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUnavailable is wrapped by the errors of DeviceLicenseID when this
// system has no usable machine id (an unsupported OS, a container without
// /etc/machine-id, a first boot that has not written it yet).
var ErrUnavailable = errors.New("the OS machine id is not available")

// label makes the derivation this package's own: an HMAC of the same raw id
// for another purpose (the keyring seal) gives an unrelated value.
const label = "iscdesk device license machine id v1"

// DeviceLicenseID returns this machine's protected id for a device license
// of the license code license (Protect of the raw OS machine id).
func DeviceLicenseID(license string) (string, error) {
	raw, err := rawID()
	if err != nil {
		return "", err
	}
	return Protect(raw, license)
}

// Protect derives the protected id from a raw machine id: the lower-case hex
// HMAC-SHA256, keyed with the raw id (trimmed, lower-cased), of the label and
// the license code (trimmed, upper-cased: the issuer may spell it in either
// case). It refuses a raw id that is no id: empty, systemd's
// "uninitialized", or made only of zeros and dashes.
func Protect(raw, license string) (string, error) {
	raw = strings.ToLower(strings.TrimSpace(raw))
	if raw == "" || raw == "uninitialized" || strings.Trim(raw, "0-") == "" {
		return "", fmt.Errorf("%w: %q is not a machine id", ErrUnavailable, raw)
	}
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(strings.ToUpper(strings.TrimSpace(license))))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Equal reports whether two protected ids are the same, in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
