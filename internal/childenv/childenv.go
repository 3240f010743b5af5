// Package childenv builds the environment of the programs iscdesk starts on
// the user's behalf (a vendor's install scripts, the solver): the user's
// environment less iscdesk's secrets, so a marketplace secret key given to
// iscdesk through the environment never reaches another program; and proxy
// credentials only for the programs that download (install scripts), not
// for those that work on local files (the solver). It imports only the
// standard library.
package childenv

import (
	"net/url"
	"os"
	"slices"
	"strings"
)

// The environment variables that carry secrets to iscdesk.
const (
	AK = "ISCDESK_AK" // the marketplace access key
	SK = "ISCDESK_SK" // the marketplace secret key
)

var secrets = []string{AK, SK}

// For returns os.Environ() without iscdesk's secrets and without the
// credentials of its proxy variables, followed by extra ("NAME=value"
// entries): the environment of a program that works on local files, the
// solver. A proxy variable keeps its address (a program that does reach
// the network finds a proxy that needs no password), never its user
// information; one whose value cannot be told apart from a password is
// dropped.
func For(extra ...string) []string {
	return append(withoutProxyCredentials(Without(os.Environ())), extra...)
}

// WithProxy returns os.Environ() without iscdesk's secrets, followed by
// extra: the environment of a program that downloads, a vendor's install
// or uninstall script. It gets the proxy iscdesk itself uses: proxy, the
// configured proxy URL, credentials and all, in HTTP_PROXY and HTTPS_PROXY
// (both spellings, and NO_PROXY for this machine, which iscdesk never
// reaches through a proxy) instead of the environment's proxy variables;
// with proxy "", the environment's proxy variables as they are.
func WithProxy(proxy string, extra ...string) []string {
	env := Without(os.Environ())
	if proxy != "" {
		env = slices.DeleteFunc(env, func(kv string) bool {
			name, _, _ := strings.Cut(kv, "=")
			return isProxyVar(name)
		})
		for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY"} {
			env = append(env, name+"="+proxy, strings.ToLower(name)+"="+proxy)
		}
		env = append(env, "NO_PROXY="+loopback, "no_proxy="+loopback)
	}
	return append(env, extra...)
}

// loopback is NO_PROXY for this machine, as netutil.Proxy excludes it.
const loopback = "localhost,127.0.0.1,::1"

// Without returns env (as os.Environ gives it) without iscdesk's secrets.
func Without(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.ContainsFunc(secrets, func(s string) bool { return strings.EqualFold(s, name) })
	})
}

// isProxyVar reports whether the variable name is one that programs read a
// proxy from: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY and the other
// *_PROXY variables, in any case.
func isProxyVar(name string) bool {
	return len(name) > len("_PROXY") && strings.EqualFold(name[len(name)-len("_PROXY"):], "_PROXY")
}

// withoutProxyCredentials returns env with the user information taken out
// of every proxy variable's URL (the list of NO_PROXY has none).
func withoutProxyCredentials(env []string) []string {
	out := env[:0]
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if isProxyVar(name) && !strings.EqualFold(name, "NO_PROXY") {
			v, ok := withoutUserinfo(value)
			if !ok {
				continue
			}
			kv = name + "=" + v
		}
		out = append(out, kv)
	}
	return out
}

// withoutUserinfo returns a proxy URL, with or without its scheme
// ("user:pw@proxy:3128" is common), without its user information; false
// when the value holds an "@" that is not plainly the end of the user
// information, so that nothing of a password can pass.
func withoutUserinfo(v string) (string, bool) {
	if !strings.Contains(v, "@") {
		return v, true
	}
	raw, schemeless := v, !strings.Contains(v, "://")
	if schemeless {
		raw = "http://" + v
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", false
	}
	u.User = nil
	s := u.String()
	if strings.Contains(s, "@") {
		return "", false
	}
	if schemeless {
		s = strings.TrimPrefix(s, "http://")
	}
	return s, true
}
