package wire

// The wire format of iscdesk's extension of the license protocol: the calls
// the desktop agent needs that the marketplace itself does not offer (a device
// license signed by the vendor, the vendor's public key, an update manifest).
// The local sandbox serves them, and so could a vendor license gateway that
// keeps the vendor's keys on the vendor's server. They live under their own
// prefix, never under the marketplace's, so that they cannot collide with a
// path the marketplace publishes later.
//
// The signed calls (device license, vendor key by POST) follow the license
// API's rules exactly: POST, application/json, AK/SK signature, the same
// envelope and result codes. The public ones (vendor key and update manifest
// by GET, the update package) need no AK/SK signature: what they hand out is
// public, and the update manifest is signed by the vendor key instead.

import (
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/token"
)

// Paths of the extension.
const (
	PathDeviceLicense  = "/api/iscdesk/v1/device-license"  // POST, signed
	PathVendorKey      = "/api/iscdesk/v1/vendor-key"      // POST signed, or GET without a signature
	PathUpdateManifest = "/api/iscdesk/v1/update-manifest" // GET ?app=NAME
	PathUpdatePackage  = "/api/iscdesk/v1/update-package"  // GET, the sandbox's package
)

// MaxDevInfoBytes is the longest device fingerprint (devInfo) a device
// license request may carry, in bytes: the published cap of the fingerprint
// string.
const MaxDevInfoBytes = devinfo.MaxBytes

// VendorKeyAlg is the only signature algorithm of device licenses: EdDSA over
// Ed25519 (RFC 8037).
const VendorKeyAlg = token.Alg

// DeviceLicenseBody is the body of a device license request. NotAfter, when
// set, caps the license's expiry (UTC yyyyMMddHHmmss); the license never
// outlives the code either way. Machine is the protected OS machine id
// (MachineIDLen lower-case hex digits) that the token carries as its "mid"
// claim: required when DevInfo has a single unit part
// (devinfo.Components.NeedsMachineID), sent only then.
type DeviceLicenseBody struct {
	License  string `json:"license"`
	DevInfo  string `json:"dev_info"`
	NotAfter string `json:"not_after,omitempty"`
	Machine  string `json:"machine,omitempty"`
}

// MachineIDLen is the length of DeviceLicenseBody.Machine: a hex SHA-256.
const MachineIDLen = 64

// ValidMachineID reports whether s has the shape of DeviceLicenseBody.Machine.
func ValidMachineID(s string) bool {
	if len(s) != MachineIDLen {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// DeviceLicenseData is the data of a device license answer: a compact JWS
// signed with the vendor's Ed25519 key (package token).
type DeviceLicenseData struct {
	Token string `json:"token"`
}

// VendorKeyData is the data of a vendor key answer. PublicKey is the 32-byte
// Ed25519 public key in standard base64 with padding (token.EncodePublicKey).
type VendorKeyData struct {
	Alg       string `json:"alg"`
	PublicKey string `json:"public_key"`
}

// ManifestType is the typ of a signed update manifest's JWS header, so that
// no other token the vendor key signs (a device license) passes for one.
const ManifestType = "iscdesk-update-manifest"

// ManifestContentType is the Content-Type of the answer at
// PathUpdateManifest: a compact JWS (RFC 7515 §9.2.1).
const ManifestContentType = "application/jose"

// Manifest is the payload of the answer at PathUpdateManifest: the newest
// version of an application, where its package is, its SHA-256 and its
// size. The answer is the manifest signed with the vendor key, a compact JWS
// (token.SignPayload, typ ManifestType), which the desktop verifies with
// the key its administrator pinned before it reads anything from it.
type Manifest struct {
	App     string `json:"app"`     // the application it is for: the app the request named
	Version string `json:"version"` // the newest version, strict (internal/semver), e.g. "2.0.0"
	URL     string `json:"url"`     // where its package is: https, or http on a loopback host
	SHA256  string `json:"sha256"`  // lower-case hex SHA-256 of the package
	Size    int64  `json:"size"`    // the package's size in bytes: the download's cap
	Force   bool   `json:"force"`   // the upgrade is mandatory (the app saves its work and exits)
}
