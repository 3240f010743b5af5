// Package updates is the agent's default version check (CheckNewVersions,
// UpgradeNotify): it reads a vendor's signed update manifest, compares
// versions, and downloads and verifies the newer package so it can be
// installed once the program exits.
//
// What it trusts: the vendor key the administrator pinned (config
// server_key), nothing else. The manifest is verified with that key before
// anything is read from it (marketplace.ParseManifest); it must be made out
// to the asking app, and its version may not be older than the running one
// nor than the newest this checker accepted before for that app and key
// (kept in Downloads), so a replayed old manifest cannot roll a program back.
// The package comes through the one hardened downloader (internal/download)
// capped at the manifest's size, from the host the manifest names, checked
// against its SHA-256, and is saved under a name of ours.
//
// It must not import the agent (which uses it through its UpdateChecker
// hook), sdk or the GUI toolkit.
package updates

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/semver"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
)

// Update is what the version check found.
type Update struct {
	Available bool
	Version   string
	URL       string
	SHA256    string
	Size      int64 // the package's size in bytes, as the manifest says
	Force     bool  // the program must save its work and exit for the upgrade
}

// AppPlaceholder in ManifestChecker.URL stands for the program's name.
const AppPlaceholder = "{app}"

// ErrDowngrade is wrapped by the error of a manifest older than the running
// version or than one accepted before: a replayed manifest. Its kind is
// errs.Integrity.
var ErrDowngrade = errors.New("downgrade refused")

// ManifestChecker is the default version check: it reads a signed update
// manifest (marketplace.ParseManifest) and downloads the package into
// Downloads, verifying its SHA-256, so the upgrade can run after the
// program exits.
type ManifestChecker struct {
	// URL is the manifest: AppPlaceholder in it stands for the program's
	// name (the license server's /v1/apps/{app}/manifest); without one,
	// "?app=NAME" is added.
	URL       string
	Downloads string // folder of verified packages, and the versions accepted
	// ServerKey is the vendor's pinned public key (config server_key) that
	// every manifest must be signed with; nil refuses every manifest.
	ServerKey ed25519.PublicKey
	// Proxy is the configured proxy URL ("" means the environment's), for
	// the manifest and the package alike.
	Proxy string
	// HTTP, if set, replaces the client built from Proxy (tests).
	HTTP *http.Client

	mu       sync.Mutex // one download at a time
	acceptMu sync.Mutex // the file of accepted versions
}

func (m *ManifestChecker) client() (*http.Client, error) {
	if m.HTTP != nil {
		return m.HTTP, nil
	}
	proxy, err := netutil.Proxy(m.Proxy)
	if err != nil {
		return nil, errs.E(opCheck, errs.Invalid, err)
	}
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{Proxy: proxy}}, nil
}

const opCheck = "update check"

// Check reads the manifest for app, verifies it, and compares its version
// with version, the program's own (semver.ParseLoose). Errors carry their
// kind: Unavailable without a pinned key (nothing is fetched), Invalid for a
// program version that is not one, Integrity for a manifest not signed by
// the key, made out to another app, or older than version or than a
// manifest accepted before (ErrDowngrade), and the kinds of
// marketplace.FetchManifest.
func (m *ManifestChecker) Check(ctx context.Context, app, version string) (Update, error) {
	if len(m.ServerKey) != ed25519.PublicKeySize {
		return Update{}, errs.E(opCheck, errs.Unavailable, marketplace.ErrNoServerKey)
	}
	running, err := semver.ParseLoose(version)
	if err != nil {
		return Update{}, errs.E(opCheck, errs.Invalid, fmt.Errorf("the program's own version (hello): %w", err))
	}
	u := m.URL
	switch {
	case strings.Contains(u, AppPlaceholder):
		u = strings.ReplaceAll(u, AppPlaceholder, url.PathEscape(app))
	case app != "":
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "app=" + url.QueryEscape(app)
	}
	client, err := m.client()
	if err != nil {
		return Update{}, err
	}
	mf, err := marketplace.FetchManifest(ctx, client, u, m.ServerKey)
	if err != nil {
		return Update{}, err
	}
	if mf.App != app {
		return Update{}, errs.Errorf(opCheck, errs.Integrity, "the manifest is made out to %s, not to %s: refused", quote(mf.App), quote(app))
	}
	announced, _ := semver.Parse(mf.Version) // ParseManifest checked it
	if announced.Compare(running) < 0 {
		return Update{}, errs.E(opCheck, errs.Integrity, fmt.Errorf("%w: the manifest announces %s, older than the running %s (a replayed manifest?)",
			ErrDowngrade, announced, quote(version)))
	}
	if err := m.accept(app, announced); err != nil {
		return Update{}, err
	}
	return Update{Available: announced.Compare(running) > 0, Version: mf.Version, URL: mf.URL, SHA256: mf.SHA256, Size: mf.Size, Force: mf.Force}, nil
}

// Prepare downloads the newest package (when newer) and verifies it.
func (m *ManifestChecker) Prepare(ctx context.Context, app, version string) (Update, error) {
	u, err := m.Check(ctx, app, version)
	if err != nil || !u.Available {
		return u, err
	}
	if err := m.download(ctx, app, u); err != nil {
		return Update{}, err
	}
	return u, nil
}

// quote shows a name from a program or a manifest in a message: short and
// escaped.
func quote(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return fmt.Sprintf("%q", s)
}
