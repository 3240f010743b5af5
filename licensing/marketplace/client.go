// Package marketplace is the client of the marketplace license API: it
// activates and queries license codes and reports daily usage, signing each
// request with the vendor's AK/SK (package aksk), and makes the calls of
// iscdesk's extension (device licenses, the vendor key, the update
// manifest). The shapes on the wire are package wire's, which the local
// sandbox serves too.
//
// What every answer means is decided in one table (results.go); answers and
// marketplace times are parsed in one place (parse.go). The client keeps no
// package-level state: two clients with different configurations can live in
// one process.
//
// It imports licensing, licensing/aksk, licensing/marketplace/wire, token
// and fingerprint/devinfo, never sdk, the probes (fingerprint) or the
// sandbox (its tests use the sandbox from package marketplace_test).
// Package internal/layers checks this.
package marketplace

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
)

// The marketplace's hosts: the client retries on FallbackEndpoint when
// DefaultEndpoint cannot be reached.
const (
	DefaultEndpoint  = "https://mkt.myhuaweicloud.com"
	FallbackEndpoint = "https://mkt.myhuaweicloud.cn"
)

// Defaults of Config.
const (
	DefaultTimeout        = 60 * time.Second // the CLI gives up within a minute
	DefaultAttemptTimeout = 20 * time.Second
	DefaultMaxAttempts    = 4
	DefaultBaseBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff     = 8 * time.Second
)

// MaxDeviceIDLen is the longest device or user id a usage report may carry,
// in characters.
const MaxDeviceIDLen = 256

// The operations named in errors.
const (
	opActivate = "activate"
	opQuery    = "query"
	opUsage    = "usage"
)

// dialTimeout bounds a TCP connect, so that a host that drops packets leaves
// time for the fallback host within the call's deadline.
const dialTimeout = 10 * time.Second

// Config configures a Client. The zero value talks to the marketplace with
// the defaults below, but calls fail until Credentials are set.
type Config struct {
	// Endpoint is the base URL of the license API. "" is DefaultEndpoint,
	// with FallbackEndpoint tried when it cannot be reached; a configured
	// endpoint has no fallback. It must be https, or http on a loopback
	// host (the local sandbox and tests).
	Endpoint string

	// Credentials sign every request; calls without them fail with kind
	// Credentials before anything is sent.
	Credentials aksk.Credentials

	// Proxy is the URL of an HTTP(S) or SOCKS5 proxy. "" takes it from the
	// environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
	Proxy string

	// RootCAs verifies the server's certificate; nil is the system's pool.
	// Verification itself cannot be turned off.
	RootCAs *x509.CertPool

	// HTTPClient replaces the client built from Proxy and RootCAs (tests).
	// It is copied, and the copy refuses redirects; a transport that skips
	// certificate verification is refused.
	HTTPClient *http.Client

	// Timeout bounds a whole call, retries and the fallback host included
	// (default DefaultTimeout). AttemptTimeout bounds one request
	// (default DefaultAttemptTimeout).
	Timeout        time.Duration
	AttemptTimeout time.Duration

	// MaxAttempts bounds the attempts of a call that keeps failing
	// transiently (default DefaultMaxAttempts). Definite answers are never
	// retried.
	MaxAttempts int

	// BaseBackoff and MaxBackoff shape the pause between attempts: a random
	// wait up to BaseBackoff·2^(attempt-1), at most MaxBackoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration

	// UserAgent is sent with every request, e.g. "iscdesk/1.2.0"
	// (default "iscdesk").
	UserAgent string

	// Logger receives debug lines about requests (operation, host, path,
	// attempt, status, duration); never headers or keys. nil discards them.
	Logger *slog.Logger

	// Now is the clock used to sign requests (default time.Now).
	Now func() time.Time
}

// Client calls the marketplace license API. It is safe for concurrent use.
type Client struct {
	// endpoints are the base URLs tried in order while they cannot be
	// reached; more than one only for the default endpoint.
	endpoints      []string
	cred           aksk.Credentials
	redactor       *strings.Replacer // hides the AK/SK in text from answers; nil without keys
	hc             *http.Client
	userAgent      string
	log            *slog.Logger
	now            func() time.Time
	timeout        time.Duration
	attemptTimeout time.Duration
	maxAttempts    int
	baseBackoff    time.Duration
	maxBackoff     time.Duration
}

// New checks cfg and builds a Client. A bad configuration is an error of kind
// Invalid.
func New(cfg Config) (*Client, error) {
	endpoints, err := endpointsFor(cfg.Endpoint)
	if err != nil {
		return nil, errs.E("marketplace config", errs.Invalid, err)
	}
	hc, err := httpClientFor(cfg)
	if err != nil {
		return nil, errs.E("marketplace config", errs.Invalid, err)
	}
	c := &Client{
		endpoints:      endpoints,
		cred:           cfg.Credentials,
		redactor:       redactorFor(cfg.Credentials),
		hc:             hc,
		userAgent:      orDefault(cfg.UserAgent, "iscdesk"),
		log:            cfg.Logger,
		now:            cfg.Now,
		timeout:        positiveOr(cfg.Timeout, DefaultTimeout),
		attemptTimeout: positiveOr(cfg.AttemptTimeout, DefaultAttemptTimeout),
		maxAttempts:    max(cfg.MaxAttempts, 0),
		baseBackoff:    positiveOr(cfg.BaseBackoff, DefaultBaseBackoff),
		maxBackoff:     positiveOr(cfg.MaxBackoff, DefaultMaxBackoff),
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Activate activates a license code and returns what the marketplace says
// about it. A code activated before (92020003) is confirmed with a query, so
// activating twice is not an error; if that query finds the code EXPIRED or
// RELEASED, the error has kind Expired or Released and the License is
// returned with it. Otherwise an EXPIRED or RELEASED status is not an error:
// the caller decides.
func (c *Client) Activate(ctx context.Context, code string) (licensing.License, error) {
	code, err := c.precheck(opActivate, code)
	if err != nil {
		return licensing.License{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	data, err := c.call(ctx, opActivate, wire.PathActivate, wire.ActivateRequest{License: code})
	if hasCode(err, wire.CodeIllegalState) {
		c.log.DebugContext(ctx, "marketplace: code already activated, confirming with a query")
		return c.confirmActivation(ctx, code)
	}
	if err != nil {
		return licensing.License{}, err
	}
	lic, err := parseActivateData(code, data)
	if errors.Is(err, errNoCodeInfo) {
		// Activated, but without details: the query is authoritative anyway.
		return c.query(ctx, code)
	}
	if err != nil {
		return licensing.License{}, c.protocolError(opActivate, err)
	}
	return lic, nil
}

// confirmActivation answers an activation of a code that is active already.
func (c *Client) confirmActivation(ctx context.Context, code string) (licensing.License, error) {
	lic, err := c.query(ctx, code)
	if err != nil {
		return lic, err
	}
	if kind, unusable := statusKind(lic.Status); unusable {
		return lic, &errs.Error{Op: opActivate, Kind: kind, Code: wire.CodeIllegalState,
			Err: fmt.Errorf("activated before; status now %s", lic.Status)}
	}
	return lic, nil
}

// Query asks for the state of an activated license code. Every known status,
// EXPIRED and RELEASED included, is returned as a License, not an error.
func (c *Client) Query(ctx context.Context, code string) (licensing.License, error) {
	code, err := c.precheck(opQuery, code)
	if err != nil {
		return licensing.License{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.query(ctx, code)
}

func (c *Client) query(ctx context.Context, code string) (licensing.License, error) {
	data, err := c.call(ctx, opQuery, wire.PathQuery, wire.QueryRequest{License: code})
	if err != nil {
		return licensing.License{}, err
	}
	lic, err := parseQueryData(code, data)
	if err != nil {
		return licensing.License{}, c.protocolError(opQuery, err)
	}
	return lic, nil
}

// ReportUsage reports that the device or user deviceID used the license code
// today. When the marketplace refuses the report, or answers success but
// lists the entry as failed, the error carries the data it returned.
func (c *Client) ReportUsage(ctx context.Context, code, deviceID string) error {
	if deviceID == "" {
		// ReportDailyUsage would report active_num instead.
		if _, err := c.precheck(opUsage, code); err != nil {
			return err
		}
		return errs.E(opUsage, errs.Invalid, checkDeviceID(deviceID))
	}
	return c.ReportDailyUsage(ctx, code, []string{deviceID}, 0)
}

func checkDeviceID(id string) error {
	switch n := utf8.RuneCountInString(id); {
	case n == 0:
		return errors.New("device id: empty")
	case n > MaxDeviceIDLen:
		return fmt.Errorf("device id: %d characters, at most %d", n, MaxDeviceIDLen)
	case !utf8.ValidString(id) || strings.IndexFunc(id, isControl) >= 0:
		return errors.New("device id: not printable text")
	}
	return nil
}

// precheck refuses, before anything is sent, a malformed code or a client
// without credentials.
func (c *Client) precheck(op, code string) (string, error) {
	norm, err := licensing.NormalizeCode(code)
	if err != nil {
		var le *errs.Error
		if errors.As(err, &le) && le.Err != nil {
			err = le.Err
		}
		return "", errs.E(op, errs.Invalid, fmt.Errorf("license code: %w", err))
	}
	if !c.cred.Valid() {
		return "", errs.E(op, errs.Credentials, errors.New("no marketplace access key and secret key configured"))
	}
	return norm, nil
}

func (c *Client) protocolError(op string, err error) error {
	return errs.E(op, errs.Protocol, errors.New(c.clean(err.Error(), maxDetailLen)))
}

// hasCode reports whether err is a marketplace answer with the given code.
func hasCode(err error, code string) bool {
	var le *errs.Error
	return errors.As(err, &le) && le.Code == code
}
