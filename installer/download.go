package installer

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/version"
)

// Download limits. A stalled connection is given up after stallTimeout
// without a byte, and retried (resuming) up to downloadAttempts times in
// all; an interrupted Install resumes on its next run as well.
const (
	downloadAttempts = 5
	stallTimeout     = 60 * time.Second
	retryBackoff     = 500 * time.Millisecond
)

// parseSource returns the URL of a remote source, or nil for a local path.
// Only HTTPS is accepted, and plain HTTP to this machine (a local mirror or
// a test server), since a package runs code with the user's rights.
func parseSource(source string) (*url.URL, error) {
	if source == "" {
		return nil, fmt.Errorf("%w: no package given", ErrInvalid)
	}
	if !strings.Contains(source, "://") {
		return nil, nil
	}
	u, err := url.Parse(source)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkURL(u *url.URL) error {
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && netutil.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%w: %s: plain http is accepted only to this machine; use https", ErrInvalid, redactURL(u))
	default:
		return fmt.Errorf("%w: %s: want a local path or an https URL", ErrInvalid, redactURL(u))
	}
}

// redactURL drops the user information and the query, which may hold
// access tokens (pre-signed object storage URLs), before a URL is shown or
// recorded.
func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

// remoteBaseName is the file name at the end of the URL's path.
func remoteBaseName(u *url.URL) string {
	name := path.Base(u.Path)
	if name == "/" || name == "." {
		return u.Hostname()
	}
	return name
}

// partialMeta is kept beside a partial download: the validators of the
// response it came from, so that a resume asks the server for the rest of
// the same file only (If-Range).
type partialMeta struct {
	// URL is a hash of the URL: the file must not keep tokens a URL may
	// carry.
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// download fetches u into the cache and returns the file's path. The file
// is <cache>/<key>.part, where key is the expected SHA-256 or else a hash of
// the URL; it keeps that name when complete, since it is used in place and
// deleted after the install.
//
// A partial file is resumed with "Range: bytes=N-" when it can be trusted to
// be a prefix of the same file: when the server named the file (an ETag or
// Last-Modified, sent back as If-Range so a changed file comes back whole
// as 200), or when a SHA-256 will check the result. Otherwise it starts
// over. A 206 must carry a Content-Range starting at N; a 200 replaces the
// partial file; a 416 whose length equals N means the file is complete.
func (m *Manager) download(ctx context.Context, u *url.URL, sum []byte, progress func(Progress)) (string, error) {
	client, err := m.httpClient()
	if err != nil {
		return "", err
	}
	defer client.CloseIdleConnections()
	key := hex.EncodeToString(sum)
	if sum == nil {
		h := sha256.Sum256([]byte(redactURL(u) + "?" + u.RawQuery))
		key = hex.EncodeToString(h[:16])
	}
	dir := m.cacheDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	part := filepath.Join(dir, key+".part")
	d := &downloader{client: client, url: u, part: part, meta: part + ".json", trustPrefix: sum != nil,
		max: m.maxBytes(), progress: progress}
	for attempt := 1; ; attempt++ {
		err := d.once(ctx)
		if err == nil {
			return part, nil
		}
		var perm *permanentError
		if ctx.Err() != nil || errors.As(err, &perm) || attempt == downloadAttempts {
			if errors.As(err, &perm) {
				err = perm.err
			}
			return "", fmt.Errorf("downloading %s: %w", redactURL(u), err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(attempt) * retryBackoff):
		}
	}
}

// permanentError is a download failure a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

type downloader struct {
	client      *http.Client
	url         *url.URL
	part, meta  string
	trustPrefix bool // a SHA-256 will check the whole file
	max         int64
	progress    func(Progress)
}

// errRestart makes the next attempt start from byte 0.
var errRestart = errors.New("the server's answer does not continue the partial download; starting over")

func (d *downloader) once(ctx context.Context) error {
	offset := int64(0)
	if st, err := os.Stat(d.part); err == nil {
		offset = st.Size()
	}
	var meta partialMeta
	if b, err := os.ReadFile(d.meta); err == nil {
		_ = json.Unmarshal(b, &meta)
	}
	urlHash := sha256.Sum256([]byte(d.url.String()))
	urlID := hex.EncodeToString(urlHash[:])
	validator := ""
	if meta.URL == urlID {
		if meta.ETag != "" && !strings.HasPrefix(meta.ETag, "W/") {
			validator = meta.ETag // If-Range takes strong ETags only
		} else {
			validator = meta.LastModified
		}
	}
	if offset > 0 && validator == "" && !d.trustPrefix {
		offset = 0
	}

	// The stall watchdog cancels the request when no byte arrives for a
	// while: a connection that hangs is retried instead of waited on.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("no data for %v", stallTimeout)
	watchdog := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url.String(), nil)
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("User-Agent", version.UserAgent)
	// The package must arrive byte for byte as stored: a transparent gzip
	// layer would both change the bytes and break ranges.
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if validator != "" {
			req.Header.Set("If-Range", validator)
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if c := context.Cause(ctx); c == errStalled {
			return c
		}
		var certErr *tls.CertificateVerificationError
		if errors.Is(err, ErrInvalid) || errors.As(err, &certErr) {
			return &permanentError{err}
		}
		return err
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		offset = 0
		total = resp.ContentLength
		meta = partialMeta{URL: urlID, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		b, _ := json.Marshal(meta)
		if err := atomicfile.Write(d.meta, b, 0o600); err != nil {
			return &permanentError{err}
		}
	case http.StatusPartialContent:
		if offset == 0 {
			return &permanentError{errors.New("the server sent part of the file without being asked")}
		}
		start, length, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			d.truncate()
			return errRestart
		}
		total = length
	case http.StatusRequestedRangeNotSatisfiable:
		// Asked for the bytes after the end: complete if the server's
		// length is ours.
		if _, length, err := parseContentRange(resp.Header.Get("Content-Range")); err == nil && offset > 0 && length == offset {
			d.progress(Progress{Phase: PhaseDownload, Done: offset, Total: offset})
			return nil
		}
		d.truncate()
		return errRestart
	default:
		err := fmt.Errorf("the server answered %s", resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return err
		}
		return &permanentError{err}
	}
	if total > d.max {
		return &permanentError{fmt.Errorf("%w: the package is %d bytes, more than the limit of %d", ErrTooLarge, total, d.max)}
	}

	flags := os.O_WRONLY | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(d.part, flags, 0o600)
	if err != nil {
		return &permanentError{err}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return &permanentError{err}
	}
	pr := &progressReader{ctx: ctx, r: resp.Body, phase: PhaseDownload, total: total, progress: d.progress}
	pr.done.Store(offset)
	pr.report()
	body := &watchedReader{r: pr, watchdog: watchdog}
	limit := d.max - offset
	n, copyErr := io.Copy(f, io.LimitReader(body, limit+1))
	closeErr := f.Close()
	pr.report()
	switch {
	case copyErr != nil:
		if c := context.Cause(ctx); c == errStalled {
			return c
		}
		return copyErr
	case closeErr != nil:
		return &permanentError{closeErr}
	case n > limit:
		d.truncate()
		return &permanentError{fmt.Errorf("%w: the package is larger than the limit of %d bytes", ErrTooLarge, d.max)}
	case total >= 0 && offset+n != total:
		return fmt.Errorf("the connection ended after %d of %d bytes", offset+n, total)
	}
	return nil
}

func (d *downloader) truncate() {
	_ = os.Remove(d.part)
	_ = os.Remove(d.meta)
}

// watchedReader pushes the stall watchdog back on every read that returns
// data.
type watchedReader struct {
	r        io.Reader
	watchdog *time.Timer
}

func (w *watchedReader) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	if n > 0 {
		w.watchdog.Reset(stallTimeout)
	}
	return n, err
}

// parseContentRange parses "bytes START-END/LENGTH" (LENGTH may be "*",
// returned as -1) and "bytes */LENGTH" (START returned as -1).
func parseContentRange(s string) (start, length int64, err error) {
	bad := fmt.Errorf("malformed Content-Range %q", s)
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, bad
	}
	rng, lenStr, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, bad
	}
	length = -1
	if lenStr != "*" {
		if length, err = strconv.ParseInt(lenStr, 10, 64); err != nil || length < 0 {
			return 0, 0, bad
		}
	}
	if rng == "*" {
		return -1, length, nil
	}
	startStr, endStr, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, bad
	}
	start, err1 := strconv.ParseInt(startStr, 10, 64)
	end, err2 := strconv.ParseInt(endStr, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || (length >= 0 && end >= length) {
		return 0, 0, bad
	}
	return start, length, nil
}

// removeDownload deletes a downloaded package and its resume information.
func removeDownload(part string) {
	_ = os.Remove(part)
	_ = os.Remove(part + ".json")
}

// httpClient builds the client for one download: system roots plus
// ExtraRootCAs, the proxy, timeouts on every step that can hang, and the
// same URL rules for redirects as for the first request.
func (m *Manager) httpClient() (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range m.ExtraRootCAs {
		pool.AddCert(c)
	}
	proxy := http.ProxyFromEnvironment
	if m.Proxy != "" {
		pu, err := url.Parse(m.Proxy)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("%w: proxy %q", ErrInvalid, m.Proxy)
		}
		proxy = func(r *http.Request) (*url.URL, error) {
			if netutil.IsLoopback(r.URL.Hostname()) {
				return nil, nil
			}
			return pu, nil
		}
	}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			return checkURL(req.URL)
		},
	}, nil
}
