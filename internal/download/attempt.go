package download

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/version"
)

// failure is why an attempt (or the check after it) failed: the kind the
// caller will see, whether another attempt may succeed, and the HTTP status
// when a server answered with an error.
type failure struct {
	kind  errs.Kind
	retry bool
	code  string
	err   error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func retry(kind errs.Kind, err error) error { return &failure{kind: kind, retry: true, err: err} }
func fatal(kind errs.Kind, err error) error { return &failure{kind: kind, err: err} }

// asFailure returns err's *failure; an error that is none is a local,
// permanent one.
func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return &failure{kind: errs.Other, err: err}
}

// ctxFailure is the failure of a call whose context ended: Canceled, or
// Unavailable when its deadline passed.
func ctxFailure(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fatal(errs.Canceled, ctx.Err())
	}
	return fatal(errs.Unavailable, ctx.Err())
}

// with is the error a caller sees: the kind, the HTTP status, and the URL
// without its query and user information.
func (f *failure) with(u *url.URL) error {
	e := errs.E(op, f.kind, fmt.Errorf("%s: %w", netutil.Redact(u), f.err))
	e.Code = f.code
	return e
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

// attempt is one request for the file, resuming what an earlier one left.
type attempt struct {
	client      *http.Client
	url         *url.URL
	part, meta  string
	trustPrefix bool // a SHA-256 will check the whole file
	max         int64
	stall       time.Duration
	progress    func(Progress)
}

// errRestart makes the next attempt start from byte 0.
var errRestart = errors.New("the server's answer does not continue the partial download; starting over")

func (a *attempt) run(ctx context.Context) error {
	offset := int64(0)
	if st, err := os.Stat(a.part); err == nil {
		offset = st.Size()
	}
	var meta partialMeta
	if b, err := os.ReadFile(a.meta); err == nil {
		_ = json.Unmarshal(b, &meta)
	}
	urlHash := sha256.Sum256([]byte(a.url.String()))
	urlID := hex.EncodeToString(urlHash[:])
	validator := ""
	if meta.URL == urlID {
		if meta.ETag != "" && !strings.HasPrefix(meta.ETag, "W/") {
			validator = meta.ETag // If-Range takes strong ETags only
		} else {
			validator = meta.LastModified
		}
	}
	if offset > 0 && validator == "" && !a.trustPrefix {
		offset = 0
	}

	// The stall watchdog cancels the request when no byte arrives for a
	// while: a connection that hangs is retried instead of waited on.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("no data for %v", a.stall)
	watchdog := time.AfterFunc(a.stall, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url.String(), nil)
	if err != nil {
		return fatal(errs.Invalid, err)
	}
	req.Header.Set("User-Agent", version.UserAgent)
	// The file must arrive byte for byte as stored: a transparent gzip
	// layer would both change the bytes and break ranges.
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if validator != "" {
			req.Header.Set("If-Range", validator)
		}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		if c := context.Cause(ctx); c == errStalled {
			return retry(errs.Unavailable, c)
		}
		// A *url.Error repeats the URL, query (tokens) and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var redirect *redirectError
		var certErr *tls.CertificateVerificationError
		switch {
		case errors.As(err, &redirect):
			return fatal(redirect.kind, err)
		case errors.As(err, &certErr):
			return fatal(errs.Unavailable, err)
		}
		return retry(errs.Unavailable, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		offset = 0
		total = resp.ContentLength
		meta = partialMeta{URL: urlID, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		b, _ := json.Marshal(meta)
		if err := atomicfile.Write(a.meta, b, 0o600); err != nil {
			return fatal(errs.Other, err)
		}
	case http.StatusPartialContent:
		if offset == 0 {
			return fatal(errs.Protocol, errors.New("the server sent part of the file without being asked"))
		}
		start, length, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			a.truncate()
			return retry(errs.Protocol, errRestart)
		}
		total = length
	case http.StatusRequestedRangeNotSatisfiable:
		// Asked for the bytes after the end: complete if the server's
		// length is ours.
		if _, length, err := parseContentRange(resp.Header.Get("Content-Range")); err == nil && offset > 0 && length == offset {
			a.progress(Progress{Done: offset, Total: offset})
			return nil
		}
		a.truncate()
		return retry(errs.Protocol, errRestart)
	default:
		return statusFailure(resp)
	}
	if total > a.max {
		return fatal(errs.Integrity, fmt.Errorf("%w: the file is %d bytes, more than the limit of %d", ErrTooLarge, total, a.max))
	}

	flags := os.O_WRONLY | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(a.part, flags, 0o600)
	if err != nil {
		return fatal(errs.Other, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return fatal(errs.Other, err)
	}
	report := func(done, total int64) { a.progress(Progress{Done: done, Total: total}) }
	report(offset, total)
	meter := filecopy.NewMeter(report, total, progressStep)
	meter.Skip(offset)
	body := &watchedReader{r: filecopy.NewReader(ctx, resp.Body, meter), onData: func() { watchdog.Reset(a.stall) }}
	limit := a.max - offset
	n, copyErr := io.Copy(f, io.LimitReader(body, limit+1))
	closeErr := f.Close()
	report(meter.Done(), total)
	switch {
	case copyErr != nil && body.readErr == nil:
		return fatal(errs.Other, copyErr) // writing the cache failed
	case copyErr != nil:
		if c := context.Cause(ctx); c == errStalled {
			return retry(errs.Unavailable, c)
		}
		return retry(errs.Unavailable, copyErr)
	case closeErr != nil:
		return fatal(errs.Other, closeErr)
	case n > limit:
		a.truncate()
		return fatal(errs.Integrity, fmt.Errorf("%w: the file is larger than the limit of %d bytes", ErrTooLarge, a.max))
	case total >= 0 && offset+n != total:
		return retry(errs.Unavailable, fmt.Errorf("the connection ended after %d of %d bytes", offset+n, total))
	}
	return nil
}

// statusFailure is the failure of an answer with an error status: a retry
// may help after a server error, a rate limit or a timeout, not otherwise.
func statusFailure(resp *http.Response) error {
	err := fmt.Errorf("the server answered %s", resp.Status)
	f := &failure{kind: errs.Unavailable, code: fmt.Sprintf("HTTP %d", resp.StatusCode), err: err}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		f.kind = errs.NotExist
	case http.StatusUnauthorized, http.StatusForbidden:
		f.kind = errs.Permission
	case http.StatusTooManyRequests, http.StatusRequestTimeout:
		f.retry = true
	default:
		f.retry = resp.StatusCode >= 500
	}
	return f
}

func (a *attempt) truncate() { Remove(a.part) }

// progressStep is how many bytes pass between two progress reports (at
// least; see filecopy.NewMeter).
const progressStep = 1 << 20

// watchedReader calls onData on every read that returns data (the stall
// watchdog) and remembers the source's error, cancellation included, so that
// a failed copy tells reading from writing.
type watchedReader struct {
	r       io.Reader
	onData  func()
	readErr error
}

func (w *watchedReader) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	if n > 0 {
		w.onData()
	}
	if err != nil && err != io.EOF {
		w.readErr = err
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
