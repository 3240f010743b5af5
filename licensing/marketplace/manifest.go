package marketplace

// The update manifest (wire.Manifest): which version of an application is
// the newest, where its package is and what its SHA-256 is. It is public (no
// signature), so it is fetched with a plain GET rather than through the
// signed call path; it lives here because it shares that path's rules about
// transport (https, or http on loopback only) and about distrusting what
// comes back.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// MaxManifestBytes caps a manifest answer; a real one is a few hundred bytes.
const MaxManifestBytes = 64 << 10

// DefaultManifestTimeout bounds a FetchManifest given no HTTP client, in case
// the caller's context has no deadline.
const DefaultManifestTimeout = 30 * time.Second

// Limits on the manifest's fields. They are shown to users and logged, so
// they must be short.
const (
	maxVersionLen     = 64
	maxPackageURLLen  = 2048
	maxManifestRedirs = 5
)

const opManifest = "update manifest"

// validateManifest checks a manifest the way FetchManifest does, normalising
// the digest to lower case.
func validateManifest(m *wire.Manifest) error {
	v := strings.TrimSpace(m.Version)
	switch {
	case v == "":
		return errors.New("manifest without a version")
	case len(v) > maxVersionLen:
		return fmt.Errorf("version longer than %d bytes", maxVersionLen)
	case !utf8.ValidString(v) || strings.IndexFunc(v, isControl) >= 0:
		return fmt.Errorf("version %s is not printable text", quote(v))
	}
	if len(m.URL) > maxPackageURLLen {
		return fmt.Errorf("package url longer than %d bytes", maxPackageURLLen)
	}
	if err := checkFetchURL(m.URL); err != nil {
		return fmt.Errorf("package %v", err)
	}
	sum := strings.ToLower(strings.TrimSpace(m.SHA256))
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return fmt.Errorf("sha256 %s is not 64 hex digits", quote(m.SHA256))
	}
	m.Version, m.SHA256 = v, sum
	return nil
}

// FetchManifest GETs the manifest at rawURL (https, or http on a loopback
// host) and checks it: a version, a package URL that is https or loopback
// http, and a SHA-256 of 64 hex digits. hc nil means a client with
// DefaultManifestTimeout; a client that skips certificate verification is
// refused. Redirects are followed only to URLs that pass the same check, so
// an https manifest cannot be downgraded to plain http on the way.
//
// Errors are *errs.Error: Invalid for a bad URL or client, Unavailable
// when the server cannot be reached or is failing (5xx, 429, 408), Protocol
// for any other answer that is not a valid manifest.
func FetchManifest(ctx context.Context, hc *http.Client, rawURL string) (wire.Manifest, error) {
	if err := checkFetchURL(rawURL); err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Invalid, err)
	}
	client, err := manifestClient(hc)
	if err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Invalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Invalid, errors.New("url cannot be requested"))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		err = netutil.RedactURLError(err) // the URL's query may hold a token
		if errors.Is(err, errBadRedirect) {
			return wire.Manifest{}, errs.E(opManifest, errs.Protocol, errBadRedirect)
		}
		return wire.Manifest{}, errs.E(opManifest, errs.Unavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body of an
		// error page is not worth showing.
		io.CopyN(io.Discard, resp.Body, 4<<10)
		kind := errs.Protocol
		switch s := resp.StatusCode; {
		case s >= 500, s == http.StatusTooManyRequests, s == http.StatusRequestTimeout:
			kind = errs.Unavailable
		}
		return wire.Manifest{}, &errs.Error{Op: opManifest, Kind: kind, Code: fmt.Sprintf("HTTP %d", resp.StatusCode),
			Err: errors.New(orDefault(http.StatusText(resp.StatusCode), "unexpected HTTP status"))}
	}
	if resp.ContentLength > MaxManifestBytes {
		return wire.Manifest{}, errs.E(opManifest, errs.Protocol, errManifestTooLarge)
	}
	body, err := readCapped(resp.Body, MaxManifestBytes)
	switch {
	case errors.Is(err, errTooLarge):
		return wire.Manifest{}, errs.E(opManifest, errs.Protocol, errManifestTooLarge)
	case err != nil:
		return wire.Manifest{}, errs.E(opManifest, errs.Unavailable, err)
	}
	return parseManifest(body)
}

var (
	errManifestTooLarge = fmt.Errorf("manifest larger than %d bytes", MaxManifestBytes)
	errBadRedirect      = errors.New("redirect refused: too many, or to a URL that is neither https nor loopback http")
)

// parseManifest decodes and validates a manifest answer. Unknown keys are
// ignored, like everywhere in the protocol.
func parseManifest(body []byte) (wire.Manifest, error) {
	var m wire.Manifest
	if len(body) == 0 || body[0] != '{' {
		return wire.Manifest{}, errs.E(opManifest, errs.Protocol, errors.New("answer is not a JSON object"))
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Protocol, fmt.Errorf("malformed manifest: %v", err))
	}
	if err := validateManifest(&m); err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Protocol, err)
	}
	return m, nil
}

// checkFetchURL accepts an absolute https URL, or http on a loopback host.
// Like checkEndpoint, its errors name the host at most: a URL may hold a
// password or a token.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("url is not a URL")
	case u.User != nil:
		return errors.New("url must not contain user information")
	case u.Opaque != "" || u.Hostname() == "":
		return errors.New("url has no host")
	case u.Scheme == "https":
	case u.Scheme == "http" && netutil.IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return fmt.Errorf("url http://%s: plain http is allowed only on a loopback host; use https", u.Host)
	default:
		return fmt.Errorf("url scheme %q: want https", u.Scheme)
	}
	return nil
}

// manifestClient copies hc (so the caller's client is not changed) with a
// redirect policy that applies checkFetchURL to every hop.
func manifestClient(hc *http.Client) (*http.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultManifestTimeout}
	}
	if t, ok := hc.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		return nil, errors.New("HTTP client skips certificate verification")
	}
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxManifestRedirs || checkFetchURL(req.URL.String()) != nil {
			return errBadRedirect
		}
		return nil
	}
	return &c, nil
}
