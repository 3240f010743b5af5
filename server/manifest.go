package server

// The signed update manifest of each app (GET /v1/apps/{app}/manifest): the
// vendor configures the newest release of each app, and the server signs it
// with the current vendor key as the sandbox does (licensing/marketplace/wire
// Manifest, a compact JWS of typ wire.ManifestType), so the desktop's update
// checker (licensing/marketplace.ParseManifest) accepts it with the key its
// administrator pinned.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/semver"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// Limits of a release, as the desktop's (licensing/marketplace): what the
// server signs, the desktop accepts.
const (
	MaxReleaseURLLen  = 2048     // a package URL
	MaxReleaseBytes   = 32 << 30 // a package's size
	releaseDigestSize = sha256.Size
)

// Release is the newest release of an app: config.json's apps.
type Release struct {
	// Version is strict (internal/semver): "2.0.0", "3.1.0-rc.1".
	Version string `json:"version"`
	// URL is the package: https, or http on a loopback host.
	URL string `json:"url"`
	// SHA256 is the package's digest, 64 hex digits.
	SHA256 string `json:"sha256"`
	// Size is the package's size in bytes.
	Size int64 `json:"size"`
	// Force makes the upgrade mandatory.
	Force bool `json:"force,omitempty"`
}

// Validate checks a release as the desktop will check the manifest made of it.
func (r Release) Validate() error {
	if _, err := semver.Parse(r.Version); err != nil {
		return fmt.Errorf("version: %v", err)
	}
	if err := checkReleaseURL(r.URL); err != nil {
		return fmt.Errorf("url: %v", err)
	}
	if b, err := hex.DecodeString(r.SHA256); err != nil || len(b) != releaseDigestSize {
		return errors.New("sha256: want 64 hex digits")
	}
	if r.Size <= 0 || r.Size > MaxReleaseBytes {
		return fmt.Errorf("size: want between 1 and %d bytes", int64(MaxReleaseBytes))
	}
	return nil
}

// checkReleaseURL accepts an absolute https URL without user information,
// or http on a loopback host. Its errors name the host at most.
func checkReleaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > MaxReleaseURLLen:
		return fmt.Errorf("longer than %d bytes", MaxReleaseURLLen)
	case err != nil:
		return errors.New("not a URL")
	case u.User != nil:
		return errors.New("must not contain user information")
	case u.Opaque != "" || u.Hostname() == "":
		return errors.New("no host")
	case u.Scheme == "https":
	case u.Scheme == "http" && netutil.IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return fmt.Errorf("http://%s: plain http is allowed only on a loopback host; use https", u.Host)
	default:
		return fmt.Errorf("scheme %q: want https", u.Scheme)
	}
	return nil
}

// CheckApp checks an app's name: printable text of at most MaxAppLen bytes,
// as an activation's app.
func CheckApp(app string) error { return checkText("app", app, 1, MaxAppLen) }

// ValidateReleases checks every app's name and release.
func ValidateReleases(apps map[string]Release) error {
	for app, r := range apps {
		if err := CheckApp(app); err != nil {
			return fmt.Errorf("apps: %q: %v", app, err)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("apps: %s: %v", app, err)
		}
	}
	return nil
}

// Manifests signs the update manifests of the configured apps.
type Manifests struct {
	Apps   map[string]Release
	Signer Signer // the current key signs, its kid in the header
}

// Manifest is the signed manifest of app. Errors are *errs.Error: Invalid
// for a malformed app name, NotExist for an app with no release configured.
func (m Manifests) Manifest(app string) (string, error) {
	const op = "manifest"
	if err := CheckApp(app); err != nil {
		return "", errs.E(op, errs.Invalid, err)
	}
	r, ok := m.Apps[app]
	if !ok {
		return "", errs.Errorf(op, errs.NotExist, "no update manifest for app %q on this server", app)
	}
	payload, err := json.Marshal(wire.Manifest{App: app, Version: r.Version, URL: r.URL, SHA256: hexLower(r.SHA256),
		Size: r.Size, Force: r.Force})
	if err != nil {
		return "", errs.E(op, errs.Other, err)
	}
	signed, err := token.SignPayloadKid(m.Signer.SigningKey(), wire.ManifestType, payload)
	if err != nil {
		return "", errs.E(op, errs.Other, err)
	}
	return signed, nil
}

func hexLower(s string) string {
	b, _ := hex.DecodeString(s)
	return hex.EncodeToString(b)
}
