package marketplace

// The one place where answers and transport failures become licensing kinds.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// A rule is the client's reaction to one kind of answer.
type rule struct {
	code   string      // error_code; "" = the answer has none; anyCode = a code not listed
	status statusRange // HTTP statuses the row applies to; zero = any
	ok     bool        // success: the data of the answer is used
	kind   errs.Kind
	retry  bool   // transient: the same request may succeed later
	hint   string // added to the message, for the person reading it
}

// statusRange is an inclusive range of HTTP statuses; the zero value is any.
type statusRange struct{ lo, hi int }

func only(status int) statusRange    { return statusRange{status, status} }
func span(lo, hi int) statusRange    { return statusRange{lo, hi} }
func (r statusRange) has(s int) bool { return r == statusRange{} || r.lo <= s && s <= r.hi }

// anyCode matches an error_code that no row above names.
const anyCode = "*"

// resultTable decides what every answer means: the first row whose code and
// HTTP status match wins. The error_code decides first; the HTTP status only
// refines a code, or decides alone when there is no code (an answer from a
// proxy or load balancer, or a body that is not JSON). Gateway codes of a
// dedicated gateway ("APIG.0301") are read as "APIGW.0301".
var resultTable = []rule{
	{code: wire.CodeSuccess, status: span(200, 299), ok: true},
	{code: wire.CodeSuccess, kind: errs.Protocol, hint: "success code on an HTTP error status"},
	// Some mirrors answer "unauthorized" with the internal-error code and 403.
	{code: wire.CodeInternal, status: only(403), kind: errs.Credentials},
	{code: wire.CodeInternal, kind: errs.Unavailable, retry: true},
	// The server refusing what we sent is, in practice, refusing the code.
	{code: wire.CodeInvalidParameter, kind: errs.Invalid},
	{code: wire.CodeRequestInvalid, kind: errs.Invalid},
	{code: wire.CodeBatchInvalid, kind: errs.Invalid},
	// Activate turns this into a query (idempotent activation). Elsewhere
	// the code's state forbids the call (usage of an expired code); which
	// state, only the query tells.
	{code: wire.CodeIllegalState, kind: errs.Other},
	{code: wire.CodeNotDelivered, kind: errs.NotDelivered, hint: "wait until the marketplace delivers the license"},
	{code: wire.CodeNotExist, kind: errs.NotFound},
	{code: wire.CodeNotActivated, kind: errs.NotActivated},
	// Method, content type and body are ours: these are bugs of this client.
	{code: wire.CodeMethodNotSupported, kind: errs.Other},
	{code: wire.CodeContentType, kind: errs.Other},
	{code: wire.CodeBodyNotReadable, kind: errs.Other},

	// The endpoint answers, but not with the license API: a wrong base URL.
	{code: wire.GatewayNotFound, kind: errs.Protocol, hint: "the endpoint does not serve the license API"},
	{code: wire.GatewayBackend, status: span(500, 599), kind: errs.Unavailable, retry: true},
	{code: wire.GatewayBackend, kind: errs.Unavailable},
	{code: wire.GatewayBadSignature, kind: errs.Credentials, hint: "check the AK/SK and this computer's clock"},
	{code: wire.GatewayForbidden, kind: errs.Credentials},
	{code: wire.GatewayBadAppAuth, kind: errs.Credentials},

	// A code we do not know cannot be understood, unless the status says
	// the server is only busy or failing, which a later attempt may outlive.
	{code: anyCode, status: only(429), kind: errs.Unavailable, retry: true},
	{code: anyCode, status: span(500, 599), kind: errs.Unavailable, retry: true},
	{code: anyCode, kind: errs.Protocol, hint: "unknown result code"},

	{code: "", status: span(200, 299), kind: errs.Protocol, hint: "answer without error_code"},
	{code: "", status: span(300, 399), kind: errs.Protocol, hint: "redirects are refused"},
	{code: "", status: only(401), kind: errs.Credentials},
	{code: "", status: only(403), kind: errs.Credentials},
	{code: "", status: only(408), kind: errs.Unavailable, retry: true},
	{code: "", status: only(429), kind: errs.Unavailable, retry: true},
	{code: "", status: span(400, 499), kind: errs.Protocol},
	{code: "", status: span(500, 599), kind: errs.Unavailable, retry: true},
	{code: "", kind: errs.Protocol},
}

// listedCodes holds the codes resultTable names (derived, never changed).
var listedCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range resultTable {
		if r.code != "" && r.code != anyCode {
			m[r.code] = true
		}
	}
	return m
}()

// lookup returns the rule for an answer with the given error_code (trimmed,
// possibly "") and HTTP status.
func lookup(code string, status int) rule {
	if rest, ok := strings.CutPrefix(code, "APIG."); ok {
		code = "APIGW." + rest
	}
	if code != "" && !listedCodes[code] {
		code = anyCode
	}
	for _, r := range resultTable {
		if r.code == code && r.status.has(status) {
			return r
		}
	}
	return rule{kind: errs.Protocol} // not reached: each code group ends with a catch-all row
}

// usageEntryKind is the kind of a usage entry that a successful answer lists
// as failed: the entry's own code decides when the table knows it; otherwise
// the server refused the entry, as with 92020002.
func usageEntryKind(code string) errs.Kind {
	r := lookup(code, http.StatusOK)
	if code == "" || r.ok || r.code == anyCode {
		return errs.Invalid
	}
	return r.kind
}

// statusKind is the kind an activation reports when the code turns out to be
// activated already but no longer usable.
func statusKind(s licensing.Status) (errs.Kind, bool) {
	switch s {
	case licensing.StatusExpired:
		return errs.Expired, true
	case licensing.StatusReleased:
		return errs.Released, true
	}
	return 0, false
}

// errSign marks a request that could not be signed (a bug: the credentials
// are checked before).
type errSign struct{ err error }

func (e errSign) Error() string { return e.err.Error() }
func (e errSign) Unwrap() error { return e.err }

// transportRule classifies a request that got no answer. ctx is the call's
// context: once it has ended there is no time left for another attempt.
func transportRule(ctx context.Context, err error) rule {
	var sign errSign
	switch {
	case errors.Is(err, errTooLarge):
		return rule{kind: errs.Protocol}
	case errors.As(err, &sign):
		return rule{kind: errs.Other}
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up (Ctrl-C, the window closed): not the network.
		return rule{kind: errs.Canceled}
	case ctx.Err() != nil:
		return rule{kind: errs.Unavailable}
	case isTLSFailure(err):
		// Another attempt meets the same certificate; it is not a blip.
		return rule{kind: errs.Unavailable, hint: "the server's certificate was not accepted"}
	}
	return rule{kind: errs.Unavailable, retry: true}
}

func isTLSFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record)
}

// Caps on text from answers that goes into errors and logs.
const (
	maxMsgLen    = 200
	maxCodeLen   = 32
	maxDetailLen = 500
	maxHostLen   = 100
)

// answer is what one request got back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// outcome is the result of one attempt.
type outcome struct {
	data       json.RawMessage // the data of a successful answer
	err        error
	retry      bool
	retryAfter time.Duration // what the server asked for, if anything
}

// judge maps an answer to an outcome through resultTable.
func (c *Client) judge(op string, a answer) outcome {
	env, decodeErr := decodeEnvelope(a.body)
	code := strings.TrimSpace(string(env.ErrorCode))
	r := lookup(code, a.status)
	if r.ok {
		return outcome{data: env.Data}
	}
	e := &errs.Error{Op: op, Kind: r.kind, Code: c.clean(code, maxCodeLen)}
	if code == "" {
		e.Code = "HTTP " + strconv.Itoa(a.status)
	}
	if msg := c.describe(code, a, env, decodeErr, r); msg != "" {
		e.Err = errors.New(msg)
	}
	out := outcome{err: e, retry: r.retry}
	if r.retry {
		out.retryAfter = retryAfter(a.header)
	}
	return out
}

// describe writes the message of a failed answer: the server's message (or
// what went wrong with the answer), the rule's hint, and the data the
// server attached (the usage call lists the entries that failed there).
func (c *Client) describe(code string, a answer, env envelope, decodeErr error, r rule) string {
	var parts []string
	switch msg := c.clean(string(env.ErrorMsg), maxMsgLen); {
	case msg != "":
		parts = append(parts, msg)
	case decodeErr != nil && a.status/100 == 2:
		parts = append(parts, c.clean(decodeErr.Error(), maxMsgLen))
	case code == "": // the Code already says "HTTP <status>"
		parts = append(parts, orDefault(http.StatusText(a.status), "unexpected HTTP status"))
	}
	if r.hint != "" {
		parts = append(parts, r.hint)
	}
	if a.status/100 == 3 {
		if u, err := url.Parse(a.header.Get("Location")); err == nil && u.Host != "" {
			parts = append(parts, "it pointed to "+c.clean(u.Host, maxHostLen))
		}
	}
	if d := dataDetail(env.Data); d != "" {
		parts = append(parts, "data: "+c.clean(d, maxDetailLen))
	}
	return strings.Join(parts, "; ")
}

// dataDetail renders the data member of a failed answer on one line, or ""
// when it holds nothing.
func dataDetail(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null", "{}", "[]", `""`:
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// clean makes text from an answer safe to show and log: valid UTF-8, no
// control or invisible formatting characters, the AK/SK redacted (a gateway
// may echo what it was sent), at most max bytes.
func (c *Client) clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
	if c.redactor != nil {
		s = c.redactor.Replace(s)
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// retryAfter reads a Retry-After header given in seconds (the date form is
// not worth its parsing here).
func retryAfter(h http.Header) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(min(secs, 3600)) * time.Second
}
