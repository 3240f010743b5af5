// Package updates is the agent's default version check (CheckNewVersions,
// UpgradeNotify): it reads a vendor's update manifest, compares versions, and
// downloads and verifies the newer package so it can be installed once the
// program exits.
//
// It must not import the agent (which uses it through its UpdateChecker
// hook), sdk or the GUI toolkit.
package updates

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
)

// Update is what the version check found.
type Update struct {
	Available bool
	Version   string
	URL       string
	SHA256    string
	Force     bool // the program must save its work and exit for the upgrade
}

// newer reports whether version a is newer than b, comparing dot-separated
// numbers ("2.10.0" > "2.9.1"); a part that is not a number compares as
// text, and a missing part counts as 0.
func newer(a, b string) bool {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := range max(len(pa), len(pb)) {
		x, y := part(pa, i), part(pb, i)
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		switch {
		case ex == nil && ey == nil && nx != ny:
			return nx > ny
		case (ex != nil || ey != nil) && x != y:
			return x > y
		}
	}
	return false
}

func part(p []string, i int) string {
	if i < len(p) {
		return p[i]
	}
	return "0"
}

// ManifestChecker is the default version check: it reads an update manifest
// (JSON: version, url, sha256, force) and downloads the package into
// Downloads, verifying its SHA-256, so the upgrade can run after the program
// exits.
type ManifestChecker struct {
	URL       string // the manifest; "?app=NAME" is added
	Downloads string // folder of verified packages
	// Proxy is the configured proxy URL ("" means the environment's), for
	// the manifest and the package alike.
	Proxy string
	// HTTP, if set, replaces the client built from Proxy (tests).
	HTTP *http.Client

	mu sync.Mutex // one download at a time
}

func (m *ManifestChecker) client() (*http.Client, error) {
	if m.HTTP != nil {
		return m.HTTP, nil
	}
	proxy, err := netutil.Proxy(m.Proxy)
	if err != nil {
		return nil, errs.E("update check", errs.Invalid, err)
	}
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{Proxy: proxy}}, nil
}

// Check reads the manifest and compares versions.
func (m *ManifestChecker) Check(ctx context.Context, app, version string) (Update, error) {
	u := m.URL
	if app != "" {
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
	mf, err := marketplace.FetchManifest(ctx, client, u)
	if err != nil {
		return Update{}, err
	}
	return Update{Available: newer(mf.Version, version), Version: mf.Version, URL: mf.URL, SHA256: mf.SHA256, Force: mf.Force}, nil
}

// Prepare downloads the newest package (when newer) and verifies it.
func (m *ManifestChecker) Prepare(ctx context.Context, app, version string) (Update, error) {
	u, err := m.Check(ctx, app, version)
	if err != nil || !u.Available {
		return u, err
	}
	if err := m.download(ctx, u); err != nil {
		return Update{}, err
	}
	return u, nil
}
