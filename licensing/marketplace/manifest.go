package marketplace

// The update manifest (wire.Manifest): which version of an application is
// the newest, where its package is, its SHA-256 and its size. It is signed
// with the vendor key (a compact JWS, token.SignPayload) and fetched with a
// plain GET rather than through the AK/SK-signed call path; it lives here
// because it shares that path's rules about transport (https, or http on
// loopback only) and about distrusting what comes back. The signature is
// checked against the key the administrator pinned before anything else is
// read from the answer, so the SHA-256 is as good as the vendor key, not as
// the server's TLS.

import (
	"context"
	"crypto/ed25519"
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
	"github.com/iscdesk/iscdesk/internal/semver"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/token"
)

// MaxManifestBytes caps a manifest answer: a signed token is at most
// token.MaxBytes; a real one is under 1 KiB.
const MaxManifestBytes = token.MaxBytes

// MaxUpdateBytes is the largest package a manifest may announce, as
// internal/download's default cap: far above any real vendor suite.
const MaxUpdateBytes = 32 << 30

// DefaultManifestTimeout bounds a FetchManifest given no HTTP client, in case
// the caller's context has no deadline.
const DefaultManifestTimeout = 30 * time.Second

// Limits on the manifest's fields. They are shown to users and logged, so
// they must be short.
const (
	maxAppLen         = 128 // characters, as the sandbox's
	maxPackageURLLen  = 2048
	maxManifestRedirs = 5
)

const opManifest = "update manifest"

// ErrNoServerKey is the error of a manifest fetched or parsed with no pinned
// vendor key: nothing unsigned is ever read, and nothing signed can be
// checked without the key.
var ErrNoServerKey = errors.New("no vendor key is pinned (config server_key or ISCDESK_SERVER_KEY): update manifests cannot be verified")

// validateManifest checks a verified manifest's fields, normalising the
// digest to lower case: the vendor signed it, but a mistake of the vendor's
// must not become a path, a URL or a size this machine acts on.
func validateManifest(m *wire.Manifest) error {
	switch {
	case m.App == "":
		return errors.New("manifest without an app")
	case utf8.RuneCountInString(m.App) > maxAppLen || !utf8.ValidString(m.App) || strings.IndexFunc(m.App, isControl) >= 0:
		return fmt.Errorf("app %s is not printable text of at most %d characters", quote(m.App), maxAppLen)
	}
	if _, err := semver.Parse(m.Version); err != nil {
		return err
	}
	if len(m.URL) > maxPackageURLLen {
		return fmt.Errorf("package url longer than %d bytes", maxPackageURLLen)
	}
	if err := checkFetchURL(m.URL); err != nil {
		return fmt.Errorf("package %v", err)
	}
	sum := strings.ToLower(m.SHA256)
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return fmt.Errorf("sha256 %s is not 64 hex digits", quote(m.SHA256))
	}
	if m.Size <= 0 || m.Size > MaxUpdateBytes {
		return fmt.Errorf("size %d is not between 1 and %d bytes", m.Size, int64(MaxUpdateBytes))
	}
	m.SHA256 = sum
	return nil
}

// FetchManifest GETs the signed manifest at rawURL (https, or http on a
// loopback host) and returns it once ParseManifest accepted it with key,
// the pinned vendor key. hc nil means a client with DefaultManifestTimeout;
// a client that skips certificate verification is refused. Redirects are
// followed only to URLs that pass the same check, so an https manifest
// cannot be downgraded to plain http on the way.
//
// Errors are *errs.Error: Invalid for a bad URL or client, or no key (no
// request is sent; the error wraps ErrNoServerKey), Unavailable when the
// server cannot be reached or is failing (5xx, 429, 408), Integrity for an
// answer that is not a manifest signed by key, Protocol for any other
// answer that is not a valid manifest.
func FetchManifest(ctx context.Context, hc *http.Client, rawURL string, key ed25519.PublicKey) (wire.Manifest, error) {
	if len(key) != ed25519.PublicKeySize {
		return wire.Manifest{}, errs.E(opManifest, errs.Invalid, ErrNoServerKey)
	}
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
	req.Header.Set("Accept", wire.ManifestContentType)
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
	return ParseManifest(body, key)
}

var (
	errManifestTooLarge = fmt.Errorf("manifest larger than %d bytes", MaxManifestBytes)
	errBadRedirect      = errors.New("redirect refused: too many, or to a URL that is neither https nor loopback http")
)

// ParseManifest verifies a signed manifest with key, the pinned vendor key,
// before it reads anything from it (token.VerifyPayload, typ
// wire.ManifestType), then decodes and checks its fields: an app, a strict
// version (internal/semver), a package URL that is https or loopback http, a
// SHA-256 of 64 hex digits, a size between 1 and MaxUpdateBytes. Unknown
// keys are ignored, like everywhere in the protocol.
//
// Errors are *errs.Error: Invalid with no key (wrapping ErrNoServerKey),
// Integrity for anything that is not a manifest signed by key (unsigned,
// another key, another typ or alg, malformed), Protocol for a signed
// manifest whose fields are not valid.
func ParseManifest(body []byte, key ed25519.PublicKey) (wire.Manifest, error) {
	if len(key) != ed25519.PublicKeySize {
		return wire.Manifest{}, errs.E(opManifest, errs.Invalid, ErrNoServerKey)
	}
	payload, err := token.VerifyPayload(string(body), key, wire.ManifestType)
	if err != nil {
		return wire.Manifest{}, errs.E(opManifest, errs.Integrity, fmt.Errorf("not signed by the pinned vendor key: %w", err))
	}
	var m wire.Manifest
	if err := json.Unmarshal(payload, &m); err != nil {
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
