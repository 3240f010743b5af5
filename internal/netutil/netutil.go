// Package netutil holds the network rules every part of iscdesk applies:
// the loopback rule (plain HTTP is allowed only to this machine, and the
// sandbox listens only there), the proxy rule (the configured proxy, else
// the environment's; never for this machine) and the redaction rule (a URL
// is shown, logged or recorded without its user information, query and
// fragment). It imports only the standard library.
package netutil

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// IsLoopback reports whether host (a name or an address, without a port and
// without brackets) is "localhost" or a loopback address (127.0.0.0/8, ::1,
// or an IPv4-mapped loopback address).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// Proxy returns the proxy rule for a configured proxy URL: raw "" means the
// environment's HTTPS_PROXY, HTTP_PROXY and NO_PROXY; otherwise every
// request but those to this machine goes through raw (http, https or socks5).
// A malformed raw is refused without repeating it: it may hold a password.
func Proxy(raw string) (func(*http.Request) (*url.URL, error), error) {
	if raw == "" {
		return http.ProxyFromEnvironment, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("the proxy is not a URL")
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("proxy scheme %q: want http, https or socks5", u.Scheme)
	}
	return func(r *http.Request) (*url.URL, error) {
		if IsLoopback(r.URL.Hostname()) {
			return nil, nil
		}
		return u, nil
	}, nil
}
