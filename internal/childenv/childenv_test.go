package childenv

import (
	"slices"
	"strings"
	"testing"
)

func TestWithout(t *testing.T) {
	env := []string{"HOME=/home/ana", "ISCDESK_AK=ak", "ISCDESK_SK=secret", "iscdesk_sk=secret2", "ISCDESK_SKX=kept", "PATH=/bin"}
	got := Without(env)
	want := []string{"HOME=/home/ana", "ISCDESK_SKX=kept", "PATH=/bin"}
	if !slices.Equal(got, want) {
		t.Fatalf("Without = %q, want %q", got, want)
	}
	if len(env) != 6 {
		t.Fatal("Without changed its argument")
	}
}

func TestFor(t *testing.T) {
	t.Setenv(SK, "secret")
	t.Setenv("ISCDESK_TEST_KEPT", "1")
	env := For("ISCDESK_INPUT=/m")
	if slices.Contains(env, SK+"=secret") || !slices.Contains(env, "ISCDESK_TEST_KEPT=1") || env[len(env)-1] != "ISCDESK_INPUT=/m" {
		t.Fatalf("For = %q", env)
	}
}

// The solver's environment keeps the proxy addresses but not their user
// information; a value that hides where the password ends is dropped.
func TestForStripsProxyCredentials(t *testing.T) {
	for name, value := range map[string]string{
		"HTTPS_PROXY": "http://user:s3cret@proxy.example:3128",
		"http_proxy":  "user:s3cret@proxy.example:3128",
		"ALL_PROXY":   "socks5://s3cret@proxy.example:1080",
		"FTP_PROXY":   "http://user:s3/cret@proxy.example",
		"NO_PROXY":    "localhost,.corp.example",
	} {
		t.Setenv(name, value)
	}
	env := For()
	joined := strings.Join(env, "\n")
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if isProxyVar(name) && (strings.Contains(kv, "s3") || strings.Contains(kv, "user")) {
			t.Errorf("a proxy credential reaches the solver: %s", kv)
		}
	}
	for _, want := range []string{"HTTPS_PROXY=http://proxy.example:3128", "http_proxy=proxy.example:3128",
		"ALL_PROXY=socks5://proxy.example:1080", "NO_PROXY=localhost,.corp.example"} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing:\n%s", want, joined)
		}
	}
}

// An install script gets the proxy iscdesk uses, credentials and all: the
// configured one in place of the environment's, else the environment's.
func TestWithProxy(t *testing.T) {
	t.Setenv(SK, "secret")
	t.Setenv("HTTPS_PROXY", "http://env:envpw@env-proxy.example:3128")
	t.Setenv("no_proxy", ".corp.example")
	env := WithProxy("", "ISCDESK_INSTALL_DIR=/opt/x")
	if !slices.Contains(env, "HTTPS_PROXY=http://env:envpw@env-proxy.example:3128") || slices.Contains(env, SK+"=secret") ||
		env[len(env)-1] != "ISCDESK_INSTALL_DIR=/opt/x" {
		t.Errorf("without a configured proxy: %q", env)
	}
	const configured = "http://user:pw@proxy.example:3128"
	env = WithProxy(configured)
	for _, want := range []string{"HTTPS_PROXY=" + configured, "https_proxy=" + configured, "HTTP_PROXY=" + configured,
		"http_proxy=" + configured, "NO_PROXY=" + loopback, "no_proxy=" + loopback} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing: %q", want, env)
		}
	}
	if strings.Contains(strings.Join(env, "\n"), "env-proxy") || strings.Contains(strings.Join(env, "\n"), ".corp.example") {
		t.Errorf("the environment's proxy survives the configured one: %q", env)
	}
}
