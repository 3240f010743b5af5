package download

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
)

// ParseURL parses a download URL and applies the rules: https with a host,
// or plain http to this machine. A URL that breaks them is an errs.Invalid
// error naming it without its query.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's message repeats the whole URL, tokens and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, errs.E(op, errs.Invalid, fmt.Errorf("malformed URL: %w", err))
	}
	if err := checkURL(u); err != nil {
		return nil, errs.E(op, errs.Invalid, fmt.Errorf("%s: %w", netutil.Redact(u), err))
	}
	return u, nil
}

// checkURL is the rule for the first URL and for every redirect: a package
// runs code with the user's rights, so it comes over TLS, or from this
// machine (a local mirror or a test server).
func checkURL(u *url.URL) error {
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && netutil.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("plain http is accepted only to this machine; use https")
	default:
		return errors.New("want an https URL")
	}
}

// BaseName is the file name at the end of the URL's path, or its host when
// the path names none.
func BaseName(u *url.URL) string {
	name := path.Base(u.Path)
	if name == "/" || name == "." {
		return u.Hostname()
	}
	return name
}

// redirectError is a redirect this package refuses.
type redirectError struct {
	kind errs.Kind
	to   string // redacted
	err  error
}

func (e *redirectError) Error() string { return fmt.Sprintf("redirected to %s: %v", e.to, e.err) }
func (e *redirectError) Unwrap() error { return e.err }

// redirectPolicy applies the URL rules to every redirect and, with
// sameOrigin, refuses one that leaves the first URL's scheme, host and port.
func redirectPolicy(sameOrigin bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return &redirectError{kind: errs.Protocol, to: netutil.Redact(req.URL), err: errors.New("too many redirects")}
		}
		if err := checkURL(req.URL); err != nil {
			return &redirectError{kind: errs.Invalid, to: netutil.Redact(req.URL), err: err}
		}
		if sameOrigin && len(via) > 0 && origin(req.URL) != origin(via[0].URL) {
			return &redirectError{kind: errs.Invalid, to: netutil.Redact(req.URL),
				err: fmt.Errorf("a redirect away from %s is refused: the file must come from the host its URL names", origin(via[0].URL))}
		}
		return nil
	}
}

// origin is scheme://host:port of u, lower case, the port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port))
}

// newHTTPClient builds the client of a Client: the caller's, or system roots
// plus RootCAs, the proxy, and timeouts on every step that can hang; in
// both, the URL rules for redirects.
func newHTTPClient(cfg Config) (*http.Client, error) {
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.CheckRedirect = redirectPolicy(cfg.SameOriginRedirects)
		return &c, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range cfg.RootCAs {
		pool.AddCert(c)
	}
	proxy, err := netutil.Proxy(cfg.Proxy)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, err)
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
	return &http.Client{Transport: tr, CheckRedirect: redirectPolicy(cfg.SameOriginRedirects)}, nil
}
