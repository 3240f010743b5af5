package sandbox

// iscdesk's extension of the license protocol (marketplace/wire/extension.go):
// device licenses signed with the vendor key the sandbox holds, that key's
// public half, and an update manifest with its package.

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/semver"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// Issuer is the iss claim of the device licenses the sandbox signs, so that
// a vendor's program can tell them from the vendor's own.
const Issuer = "iscdesk-sandbox"

// DefaultManifestVersion is the version the sandbox announces for every
// application until SetManifest says otherwise: newer than any build of this
// project, so a demo always has an upgrade to offer.
const DefaultManifestVersion = "2.0.0"

// MaxPackageBytes caps Manifest.Package. The package is kept in the state
// file, which is rewritten on every change, so it must stay small: the
// sandbox serves stand-ins, not real installers.
const MaxPackageBytes = 4 << 20

// Limits of the extension's fields.
const (
	maxNotAfterLen = 16  // like real_effect_time: yyyyMMddHHmmss and some slack
	maxAppLen      = 128 // the app parameter of the update manifest
)

// Manifest is what the sandbox announces as the newest version of every
// application, and the package it serves for it.
type Manifest struct {
	// Version is the newest version, in the strict form of internal/semver
	// ("2.0.0", "3.1.0-rc.1"); required.
	Version string `json:"version"`
	// Force marks the upgrade as mandatory.
	Force bool `json:"force,omitempty"`
	// Package is served at wire.PathUpdatePackage (at most
	// MaxPackageBytes); nil serves a small deterministic stand-in derived
	// from Version.
	Package []byte `json:"package,omitempty"`
	// SHA256, when set (64 hex digits), is announced instead of the
	// package's own digest, so that a test can make a client meet a package
	// that does not match; empty announces the true digest.
	SHA256 string `json:"sha256,omitempty"`
}

func (m *Manifest) validate() error {
	switch {
	case m.Version == "":
		return errors.New("version is required")
	case len(m.Package) > MaxPackageBytes:
		return fmt.Errorf("package of %d bytes, at most %d", len(m.Package), MaxPackageBytes)
	}
	// The client refuses any other form: what the sandbox signs, it accepts.
	if _, err := semver.Parse(m.Version); err != nil {
		return err
	}
	if m.SHA256 != "" {
		if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != sha256.Size {
			return errors.New("sha256 must be 64 hex digits")
		}
	}
	return nil
}

// pkg is the package the manifest announces.
func (m *Manifest) pkg() []byte {
	if m.Package != nil {
		return m.Package
	}
	return defaultPackage(m.Version)
}

// digest is the SHA-256 the manifest announces, in lower-case hex.
func (m *Manifest) digest() string {
	if m.SHA256 != "" {
		return strings.ToLower(m.SHA256)
	}
	sum := sha256.Sum256(m.pkg())
	return hex.EncodeToString(sum[:])
}

// defaultPackage is the stand-in package of a version: the same bytes on
// every run and every machine, so tests and demos can rely on its digest.
func defaultPackage(version string) []byte {
	return []byte("iscdesk sandbox update package\nversion: " + version + "\n")
}

var defaultManifest = Manifest{Version: DefaultManifestVersion}

// SetManifest sets what the update manifest announces (for every app) and
// the package served with it. The manifest is saved in the state file.
func (s *Server) SetManifest(m Manifest) error {
	if err := m.validate(); err != nil {
		return errs.E("sandbox.SetManifest", errs.Invalid, err)
	}
	// A copy, since the caller may reuse its slice; an empty package is nil,
	// as it will be once the state file is read back (omitempty).
	m.Package = slices.Clone(m.Package)
	if len(m.Package) == 0 {
		m.Package = nil
	}
	return s.update(func(st *state) error {
		st.Manifest = &m
		return nil
	})
}

// manifest returns the manifest in force.
func (s *Server) manifest() Manifest {
	m := defaultManifest
	s.view(func(st *state) {
		if st.Manifest != nil {
			m = *st.Manifest
		}
	})
	return m
}

// VendorPublicKey returns the public half of the key that signs the device
// licenses, the key a vendor's program verifies them with. The private half
// never leaves the state file.
func (s *Server) VendorPublicKey() ed25519.PublicKey {
	return slices.Clone(s.vendor.Public().(ed25519.PublicKey))
}

// deviceLicense signs a device license binding an activated, usable code to
// a device fingerprint. It answers from the state without changing it: a
// license is a signature, not a record, and the same request may be repeated
// at will.
func (s *Server) deviceLicense(o object, now time.Time) answer {
	code, err := o.requiredString("license", licensing.MaxCodeLen)
	if err != nil {
		return badRequest(err)
	}
	dev, err := o.requiredString("dev_info", wire.MaxDevInfoBytes)
	switch {
	case err != nil:
		return badRequest(err).about(code)
	case len(dev) > wire.MaxDevInfoBytes: // the cap is in bytes, requiredString counts characters
		return badRequest(fmt.Errorf("dev_info longer than %d bytes", wire.MaxDevInfoBytes)).about(code)
	case !printable(dev):
		return badRequest(errors.New("dev_info must be printable text")).about(code)
	}
	// A well-formed string that is not a fingerprint is a value the service
	// cannot accept (92020002), like a malformed real_effect_time; the
	// vendor's program could never match a license bound to it.
	parts, err := devinfo.Parse(dev)
	if err != nil {
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			"dev_info must be a MAC|disk|board|CPU fingerprint").about(code)
	}
	// The binding policy of package devinfo: a fingerprint without a unit
	// part binds to no machine, one with a single unit part binds with the
	// protected machine id as well.
	machine, err := o.optionalString("machine", wire.MachineIDLen)
	switch {
	case err != nil:
		return badRequest(err).about(code)
	case machine != "" && !wire.ValidMachineID(machine):
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			fmt.Sprintf("machine must be %d lower-case hex digits", wire.MachineIDLen)).about(code)
	case parts.Units() == 0:
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			"dev_info names no network card, disk or board: it binds to no machine").about(code)
	case parts.NeedsMachineID() && machine == "":
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			"dev_info has a single unit part: machine is required").about(code)
	}
	notAfterText, err := o.optionalString("not_after", maxNotAfterLen)
	if err != nil {
		return badRequest(err).about(code)
	}
	now = now.UTC().Truncate(time.Second)
	notAfter, ok := parseNotAfter(notAfterText, now)
	if !ok {
		return refuse(http.StatusOK, wire.CodeInvalidParameter,
			"not_after must be UTC yyyyMMddHHmmss and in the future").about(code)
	}
	rec, refused, ok := s.activatedCode(code)
	if !ok {
		return refused
	}
	if status := rec.effectiveStatus(now); status != licensing.StatusAlive {
		return s.failed(refusalOf(wire.CodeIllegalState, "illegal state: license code is "+string(status))).about(code)
	}
	expires := rec.ExpireTime
	if !notAfter.IsZero() && notAfter.Before(expires) {
		expires = notAfter
	}
	// dev was checked above: a device license binds a fingerprint.
	tok, err := token.Sign(s.vendor, token.Claims{
		Issuer:    Issuer,
		License:   rec.Code,
		DevInfo:   dev,
		Machine:   machine,
		ProductID: rec.ProductID,
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expires:   expires.Unix(),
		ID:        randomID(),
	})
	if err != nil {
		return s.failed(err).about(code)
	}
	return success(wire.DeviceLicenseData{Token: tok}).about(code)
}

// parseNotAfter reads the optional not_after: empty is the zero time (no
// cap); a time not after now would make a license that is born expired.
func parseNotAfter(text string, now time.Time) (time.Time, bool) {
	if text == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(wire.TimeLayout, text)
	if err != nil || !t.After(now) {
		return time.Time{}, false
	}
	return t, true
}

// randomID is the jti of a device license: 128 random bits, so that two
// licenses issued in the same second still differ.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) vendorKeyData() wire.VendorKeyData {
	return wire.VendorKeyData{
		Alg:       wire.VendorKeyAlg,
		PublicKey: token.EncodePublicKey(s.VendorPublicKey()),
	}
}

// vendorKeyPost answers the signed form; the body has passed the gateway
// checks and its fields are ignored.
func (s *Server) vendorKeyPost(object, time.Time) answer { return success(s.vendorKeyData()) }

// vendorKeyGet answers without a signature: a public key is public, and a
// vendor's build scripts can fetch it with curl.
func (s *Server) vendorKeyGet(*http.Request) answer { return success(s.vendorKeyData()) }

// updateManifest answers GET ?app=NAME with the manifest in force, made out
// to that app and signed with the vendor key (a compact JWS, typ
// wire.ManifestType): the desktop verifies it with the key its
// administrator pinned. The package URL points back at this server, by the
// Host the client used, so it works on whatever port the sandbox got.
func (s *Server) updateManifest(r *http.Request) answer {
	q, err := urlQuery(r)
	if err != nil {
		return badRequest(err)
	}
	app := q.Get("app")
	switch {
	case app == "":
		return badRequest(errors.New("app is required"))
	case utf8.RuneCountInString(app) > maxAppLen || !printable(app):
		return badRequest(fmt.Errorf("app must be printable text of at most %d characters", maxAppLen))
	}
	// The sandbox listens on loopback only; a Host naming anything else came
	// through a proxy or a rebinding DNS name, and the URL built from it
	// would lead the client away.
	if !loopbackHost(r.Host) {
		return badRequest(errors.New("the Host header must name a loopback address"))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	m := s.manifest()
	payload, err := json.Marshal(wire.Manifest{
		App:     app,
		Version: m.Version,
		URL:     scheme + "://" + r.Host + wire.PathUpdatePackage,
		SHA256:  m.digest(),
		Size:    int64(len(m.pkg())),
		Force:   m.Force,
	})
	if err != nil {
		return s.failed(err)
	}
	signed, err := token.SignPayload(s.vendor, wire.ManifestType, payload)
	if err != nil {
		return s.failed(err)
	}
	return answer{status: http.StatusOK, code: wire.CodeSuccess, raw: []byte(signed), contentType: wire.ManifestContentType}
}

// updatePackage serves the package of the manifest in force.
func (s *Server) updatePackage(*http.Request) answer {
	m := s.manifest()
	return answer{status: http.StatusOK, code: wire.CodeSuccess, raw: m.pkg()}
}

func urlQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errors.New("query string not readable")
	}
	return q, nil
}

// loopbackHost reports whether a Host header (host, or host:port) names a
// loopback address or localhost.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return checkLoopback(net.JoinHostPort(host, "0")) == nil
}

// printable reports valid UTF-8 without control or invisible formatting
// characters: these values end up in logs, windows and signed claims.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, isControl)
}

func isControl(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
