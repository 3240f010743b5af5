package wiring

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/token"
)

// startSandbox serves a sandbox on loopback until the test ends and returns
// it with its URL.
func startSandbox(t *testing.T) (*sandbox.Server, string) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- sb.ListenAndServe(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	t.Cleanup(func() { cancel(); <-done })
	return sb, <-urls
}

// The agent's update check verifies the sandbox's manifests only with the
// key pinned the way an administrator pins it: server_key in a config
// file, or ISCDESK_SERVER_KEY.
func TestAgentUpdatesNeedThePinnedKey(t *testing.T) {
	ctx := context.Background()
	sb, url := startSandbox(t)
	sandboxKey := token.EncodePublicKey(sb.VendorPublicKey())
	otherPub, _, _ := ed25519.GenerateKey(nil)
	for _, c := range []struct {
		name          string
		env           string    // ISCDESK_SERVER_KEY
		user, machine string    // server_key in the user's and the machine-wide file
		kind          errs.Kind // Other: the update is found and downloaded
	}{
		{name: "nothing pinned", kind: errs.Unavailable},
		{name: "pinned by the environment", env: sandboxKey},
		{name: "pinned in the user's file", user: sandboxKey},
		{name: "another key pinned", env: token.EncodePublicKey(otherPub), kind: errs.Integrity},
		{name: "machine-wide key wins over the user's file", user: sandboxKey, machine: token.EncodePublicKey(otherPub), kind: errs.Integrity},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := testEnv(t, map[string]string{"ISCDESK_SERVER_KEY": c.env})
			if err := config.SaveUser(e.Paths.User, config.Config{CloudDir: filepath.Join(t.TempDir(), "cloud"), ServerKey: c.user,
				UpdateManifest: url + wire.PathUpdateManifest}); err != nil {
				t.Fatal(err)
			}
			if c.machine != "" {
				if err := config.SaveUser(e.Paths.Machine, config.Config{ServerKey: c.machine}); err != nil {
					t.Fatal(err)
				}
			}
			ac, err := e.AgentConfig(ctx, filepath.Join(t.TempDir(), "agent.sock"))
			if err != nil || ac.Updates == nil {
				t.Fatalf("AgentConfig: %+v, %v", ac.Updates, err)
			}
			u, err := ac.Updates.Prepare(ctx, "testcad", "1.0.0")
			if c.kind != errs.Other {
				if !errs.Is(err, c.kind) {
					t.Fatalf("Prepare = %+v, %v; want kind %v", u, err, c.kind)
				}
				if c.kind == errs.Unavailable && (!errors.Is(err, marketplace.ErrNoServerKey) || !strings.Contains(err.Error(), "server_key")) {
					t.Errorf("no key: %v", err)
				}
				return
			}
			if err != nil || !u.Available || u.Version != sandbox.DefaultManifestVersion {
				t.Fatalf("Prepare = %+v, %v", u, err)
			}
			if _, err := os.Stat(filepath.Join(e.DataDir(), "updates", sandbox.DefaultManifestVersion+"-testcad")); err != nil {
				t.Errorf("package not kept: %v", err)
			}
		})
	}
}

// Without an update_manifest the license server's own manifest is read, the
// program's name in its path; without a server, none.
func TestManifestURL(t *testing.T) {
	for _, c := range []struct{ configured, server, want string }{
		{"", "https://license.example.com/", "https://license.example.com/v1/apps/{app}/manifest"},
		{"https://updates.example.com/m.json", "https://license.example.com", "https://updates.example.com/m.json"},
		{"", "", ""},
	} {
		if got := manifestURL(c.configured, c.server); got != c.want {
			t.Errorf("manifestURL(%q, %q) = %q, want %q", c.configured, c.server, got, c.want)
		}
	}
}
