package marketplace

// The HTTP side of the client: endpoints and the fallback host, TLS and
// proxies, signing each request, retries with backoff and jitter.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/licensing/aksk"
)

func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func endpointsFor(raw string) ([]string, error) {
	if raw == "" {
		return []string{DefaultEndpoint, FallbackEndpoint}, nil
	}
	base, err := checkEndpoint(raw)
	if err != nil {
		return nil, err
	}
	return []string{base}, nil
}

// checkEndpoint returns the base URL without a trailing slash. Its errors do
// not repeat the URL: a mistyped one may hold a password.
func checkEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("endpoint is not a URL")
	case u.User != nil:
		return "", errors.New("endpoint must not contain user information")
	case u.Opaque != "" || u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("endpoint must be a base URL without query or fragment")
	case u.Hostname() == "":
		return "", errors.New("endpoint has no host")
	case u.Scheme == "https":
	case u.Scheme == "http" && netutil.IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", fmt.Errorf("endpoint http://%s: plain http is allowed only on a loopback host; use https", u.Host)
	default:
		return "", fmt.Errorf("endpoint scheme %q: want https", u.Scheme)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func httpClientFor(cfg Config) (*http.Client, error) {
	if cfg.HTTPClient != nil {
		if t, ok := cfg.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
			return nil, errors.New("HTTPClient skips certificate verification")
		}
		hc := *cfg.HTTPClient
		hc.CheckRedirect = refuseRedirect
		return &hc, nil
	}
	proxy, err := netutil.Proxy(cfg.Proxy)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: refuseRedirect}, nil
}

// refuseRedirect hands the redirect itself back as the answer, so that the
// signed request (and its Authorization header) never goes anywhere else;
// resultTable makes it a Protocol error.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func redactorFor(cred aksk.Credentials) *strings.Replacer {
	var pairs []string
	if cred.SK != "" {
		pairs = append(pairs, cred.SK, "[redacted]")
	}
	if cred.AK != "" {
		pairs = append(pairs, cred.AK, aksk.MaskAK(cred.AK))
	}
	if pairs == nil {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// call sends one request until it gets a definite answer, the attempts run
// out or ctx ends, and returns the data of a successful answer.
func (c *Client) call(ctx context.Context, op, path string, payload any) (json.RawMessage, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, errs.E(op, errs.Other, err)
	}
	for attempt := 1; ; attempt++ {
		out := c.attempt(ctx, op, path, body, attempt)
		if out.err == nil {
			return out.data, nil
		}
		if !out.retry || attempt >= c.maxAttempts {
			c.log.DebugContext(ctx, "marketplace: call failed", "op", op, "attempts", attempt, "error", out.err)
			return nil, out.err
		}
		wait := c.backoff(attempt, out.retryAfter)
		c.log.DebugContext(ctx, "marketplace: retrying", "op", op, "attempt", attempt, "wait", wait, "error", out.err)
		if !sleep(ctx, wait) {
			return nil, out.err
		}
	}
}

// attempt sends the request once, moving on to the next endpoint only while
// an endpoint cannot be reached at all (an HTTP answer, even an error, means
// the host is up and the fallback would not know better).
func (c *Client) attempt(ctx context.Context, op, path string, body []byte, attempt int) outcome {
	var out outcome
	for i, base := range c.endpoints {
		a, err := c.send(ctx, op, base, path, body, attempt)
		if err == nil {
			return c.judge(op, a)
		}
		r := transportRule(ctx, err)
		out = outcome{err: &errs.Error{Op: op, Kind: r.kind, Err: withHint(err, r.hint)}, retry: r.retry}
		if ctx.Err() != nil || i+1 == len(c.endpoints) || !unreachable(err) {
			break
		}
		c.log.InfoContext(ctx, "marketplace: host unreachable, trying the fallback",
			"host", hostOf(base), "fallback", hostOf(c.endpoints[i+1]), "error", err)
	}
	return out
}

func withHint(err error, hint string) error {
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}

// unreachable reports a failure to reach the host at all: a name that does
// not resolve or a connection that cannot be made.
func unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return ""
}

// send makes one signed request to base+path and reads the answer.
func (c *Client) send(ctx context.Context, op, base, path string, body []byte, attempt int) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, base+path, body)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		err = netutil.RedactURLError(err)
		c.log.DebugContext(ctx, "marketplace request", "op", op, "method", req.Method, "host", req.URL.Host,
			"path", path, "attempt", attempt, "duration", time.Since(start), "error", err)
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := readCapped(resp.Body, MaxResponseBytes)
	c.log.DebugContext(ctx, "marketplace request", "op", op, "method", req.Method, "host", req.URL.Host,
		"path", path, "attempt", attempt, "status", resp.StatusCode, "bytes", len(b), "duration", time.Since(start))
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// newRequest builds and signs a request. It is built anew for every attempt
// so that each carries a fresh X-Sdk-Date (the gateway allows 15 minutes).
func (c *Client) newRequest(ctx context.Context, target string, body []byte) (*http.Request, error) {
	return c.newRequestOf(ctx, target, "application/json", body)
}

// newRequestOf is newRequest with another content type (the upload's
// multipart form).
func (c *Client) newRequestOf(ctx context.Context, target, contentType string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, errSign{err}
	}
	req.Header.Set("Content-Type", contentType)
	if err := aksk.Sign(req, body, c.cred, c.now()); err != nil {
		return nil, errSign{err}
	}
	// Set after signing: proxies may rewrite it, so it must not be signed.
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// backoff is the pause before attempt+1: exponential backoff with full
// jitter (uniform in [0, min(MaxBackoff, BaseBackoff·2^(attempt-1))]), so
// that clients that failed together do not come back together; at least
// what the server asked for, within MaxBackoff.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceiling := c.maxBackoff
	if shift := attempt - 1; shift < 32 {
		if d := c.baseBackoff << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	wait := rand.N(ceiling + 1)
	if retryAfter > wait {
		wait = min(retryAfter, c.maxBackoff)
	}
	return wait
}

// sleep waits for d, or returns false at once when ctx would end first.
func sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
