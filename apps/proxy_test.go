//go:build unix

package apps

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A vendor's install and uninstall scripts may download: they get the proxy
// iscdesk uses (the configured one, credentials and all, in place of the
// environment's) and never iscdesk's secrets.
func TestScriptsGetTheConfiguredProxy(t *testing.T) {
	t.Setenv("ISCDESK_SK", "do-not-leak")
	t.Setenv("HTTPS_PROXY", "http://other:pw@env-proxy.example:3128")
	m, base := testManager(t)
	const proxy = "http://user:s3cret@proxy.example:3128"
	m.Proxy = proxy
	record := func(name string) string {
		return "#!/bin/sh\nenv > \"$ISCDESK_TEST_ENV/" + name + "\"\n"
	}
	envDir := t.TempDir()
	t.Setenv("ISCDESK_TEST_ENV", envDir)
	entries := withScript(withScript(vendorEntries("", manifestV1), "install.sh", record("install.env")), "uninstall.sh", record("uninstall.env"))
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", entries)
	if _, err := m.Install(context.Background(), pkg, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Uninstall(context.Background(), "acme-cad", nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"install.env", "uninstall.env"} {
		b, err := os.ReadFile(filepath.Join(envDir, name))
		if err != nil {
			t.Fatal(err)
		}
		env := string(b)
		if !strings.Contains(env, "HTTPS_PROXY="+proxy+"\n") || !strings.Contains(env, "http_proxy="+proxy+"\n") {
			t.Errorf("%s: the configured proxy is missing:\n%s", name, env)
		}
		if strings.Contains(env, "env-proxy") || strings.Contains(env, "do-not-leak") {
			t.Errorf("%s: the environment's proxy or a secret:\n%s", name, env)
		}
	}
}
