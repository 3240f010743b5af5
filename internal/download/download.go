// Package download is the one hardened downloader of iscdesk: it fetches a
// file into a cache folder over HTTPS (or plain HTTP to this machine),
// resumes an interrupted download, refuses a file larger than a cap and
// checks an optional SHA-256. The vendor-package manager (apps) and the
// update checker use it. It imports only the standard library and the small
// internal helpers (errs, netutil, atomicfile, version); it must not import
// the GUI toolkit, the agent, licensing or apps.
//
// The rules (docs/installer.md):
//
//   - Only https URLs with a host are accepted, and plain http to this
//     machine (a local mirror, a test server), also after redirects: a
//     redirect elsewhere over plain http is refused, and with
//     Config.SameOriginRedirects any redirect away from the URL's scheme,
//     host and port. Certificates are checked against the system's roots
//     plus Config.RootCAs.
//   - A download goes to <CacheDir>/<key>.part, key being the expected
//     SHA-256 or a hash of the URL. Beside it, <key>.part.json keeps the
//     validators (ETag, Last-Modified) of the answer and a hash of the URL;
//     no URL, and so no token a URL may carry, is ever written to disk.
//   - A partial file is resumed with "Range: bytes=N-" when it can be trusted
//     to be a prefix of the same file: when the server named the file (an
//     ETag or Last-Modified, sent back as If-Range so a changed file comes
//     back whole) or when a SHA-256 will check the result. A 200 answer
//     replaces the partial file, a 206 must continue it exactly
//     (Content-Range), a 416 at the file's length means it is complete.
//   - A dropped or stalled connection (no byte for StallTimeout) is resumed
//     within the same Fetch, up to Attempts tries; an interrupted Fetch
//     resumes on its next call.
//   - A file larger than the cap (its Content-Length or the bytes actually
//     sent) is refused, and a file that fails its SHA-256 check is deleted.
//   - Errors name the URL without its query and user information.
//
// Every error is an *errs.Error of kind Invalid (a bad URL, SHA-256 or
// redirect), Unavailable (network, timeout, 5xx and other HTTP failures),
// NotExist (404, 410), Permission (401, 403), Protocol (an answer that breaks
// HTTP's range rules), Integrity (too large: ErrTooLarge; checksum:
// ErrChecksum), Canceled, or Other (the cache folder cannot be written).
package download

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
)

// Defaults of a Config's zero fields.
const (
	DefaultAttempts     = 5
	DefaultStallTimeout = 60 * time.Second
	DefaultMaxBytes     = 32 << 30 // 32 GiB: far above any real vendor suite
	retryBackoff        = 500 * time.Millisecond
)

const op = "download"

// Errors callers may branch on with errors.Is; both have kind errs.Integrity.
var (
	// ErrChecksum means the file's SHA-256 is not the one asked for.
	ErrChecksum = errors.New("SHA-256 mismatch")
	// ErrTooLarge means the file is larger than the cap.
	ErrTooLarge = errors.New("too large")
)

// Config is how a Client reaches servers and where it keeps files.
type Config struct {
	// CacheDir holds downloads while they are incomplete, so that an
	// interrupted download resumes, and the complete files until the caller
	// removes them (Remove).
	CacheDir string
	// HTTPClient, if set, makes the requests (its transport, proxy and
	// timeouts); the redirect rules are this package's all the same. nil
	// means a client built from Proxy and RootCAs.
	HTTPClient *http.Client
	// Proxy is the proxy URL; "" means the environment's HTTPS_PROXY /
	// NO_PROXY. Loopback addresses never use a proxy.
	Proxy string
	// RootCAs are trusted in addition to the system's roots: a private
	// company CA, or a test server's certificate.
	RootCAs []*x509.Certificate
	// MaxBytes caps a file unless the call sets its own cap; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Attempts is how many times a download is tried within one Fetch
	// (resuming each time); 0 means DefaultAttempts.
	Attempts int
	// StallTimeout gives up an attempt that received no byte for that long;
	// 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// SameOriginRedirects refuses a redirect to another scheme, host or
	// port than the URL's: for a file whose URL a signed document names
	// (the update package), so that the server cannot send the client
	// elsewhere.
	SameOriginRedirects bool
}

// Client downloads files. It is safe for concurrent use, but two Fetches of
// the same file at once would share its partial file: callers serialise
// them (apps holds its install lock).
type Client struct {
	http     *http.Client
	cacheDir string
	maxBytes int64
	attempts int
	stall    time.Duration
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.CacheDir == "" {
		return nil, errs.E(op, errs.Invalid, errors.New("no cache folder"))
	}
	hc, err := newHTTPClient(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{http: hc, cacheDir: cfg.CacheDir, maxBytes: cfg.MaxBytes, attempts: cfg.Attempts, stall: cfg.StallTimeout}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.attempts <= 0 {
		c.attempts = DefaultAttempts
	}
	if c.stall <= 0 {
		c.stall = DefaultStallTimeout
	}
	return c, nil
}

// Close drops the Client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Options are the choices of one Fetch.
type Options struct {
	// SHA256 is the expected SHA-256 of the file in hex; "" skips the check.
	SHA256 string
	// MaxBytes caps the file; 0 means the Client's cap.
	MaxBytes int64
	// Progress, if set, is called from the fetching goroutine as bytes
	// arrive and as the complete file is hashed.
	Progress func(Progress)
}

// Progress reports how far a Fetch is. Total is -1 when unknown.
type Progress struct {
	// Verifying is set while the complete file is hashed for the SHA-256
	// check; otherwise Done counts bytes received (a resumed download
	// starts at the bytes already here).
	Verifying   bool
	Done, Total int64
}

// Fetch downloads rawURL into the cache folder and returns the complete
// file's path, <CacheDir>/<key>.part. The file stays there until the caller
// removes it with Remove (or moves it away); a file that fails its SHA-256
// check is deleted.
func (c *Client) Fetch(ctx context.Context, rawURL string, opts Options) (string, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return "", err
	}
	sum, err := ParseSHA256(opts.SHA256)
	if err != nil {
		return "", err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = c.maxBytes
	}
	key := hex.EncodeToString(sum)
	if sum == nil {
		h := sha256.Sum256([]byte(netutil.Redact(u) + "?" + u.RawQuery))
		key = hex.EncodeToString(h[:16])
	}
	if err := os.MkdirAll(c.cacheDir, 0o700); err != nil {
		return "", errs.E(op, errs.Other, err)
	}
	part := filepath.Join(c.cacheDir, key+".part")
	a := &attempt{client: c.http, url: u, part: part, meta: part + ".json", trustPrefix: sum != nil,
		max: limit, stall: c.stall, progress: progress}
	for n := 1; ; n++ {
		err := a.run(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", canceled(ctx, u)
		}
		if f := asFailure(err); !f.retry || n >= c.attempts {
			return "", f.with(u)
		}
		select {
		case <-ctx.Done():
			return "", canceled(ctx, u)
		case <-time.After(time.Duration(n) * retryBackoff):
		}
	}
	if sum != nil {
		if err := verify(ctx, part, sum, progress); err != nil {
			if errors.Is(err, ErrChecksum) {
				// Useless, and must not be resumed from.
				Remove(part)
			}
			return "", asFailure(err).with(u)
		}
	}
	return part, nil
}

// canceled is the error of a Fetch whose context ended: Canceled, or
// Unavailable when its deadline passed.
func canceled(ctx context.Context, u *url.URL) error {
	return asFailure(ctxFailure(ctx)).with(u)
}

// Remove deletes a downloaded file and its resume information.
func Remove(path string) {
	_ = os.Remove(path)
	_ = os.Remove(path + ".json")
}

// Prune deletes the files in the cache folder dir older than age: partial
// downloads abandoned long ago. Failures are ignored: the next call tries
// again.
func Prune(dir string, age time.Duration) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > age {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
