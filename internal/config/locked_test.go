package config

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

var (
	keyA = base64.StdEncoding.EncodeToString(make([]byte, 32))
	keyB = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", 32)))
)

// overridable is every setting the environment may set, with the value the
// machine-wide file fixes and another one (docs/cli.md, "Environment").
var overridable = []struct{ key, env, fixed, other, machine string }{
	{"server", "ISCDESK_SERVER", "https://mkt.example.com", "http://127.0.0.1:8790", `{"server":"https://mkt.example.com"}`},
	{"server_key", "ISCDESK_SERVER_KEY", keyA, keyB, `{"server_key":"` + keyA + `"}`},
}

// Every variable Load reads has a case above.
func TestOverridableCoversTheEnvironment(t *testing.T) {
	for _, e := range envSettings {
		found := false
		for _, o := range overridable {
			found = found || o.key == e.key && o.env == e.env
		}
		if !found {
			t.Errorf("%s (%s) has no case in overridable", e.env, e.key)
		}
	}
}

// A variable over a setting the machine-wide file fixes is refused, kind
// Permission, naming the setting, the variable and the file; the same value
// passes; over an unlocked setting it applies.
func TestEnvironmentCannotOverrideLockedSetting(t *testing.T) {
	for _, o := range overridable {
		t.Run(o.key, func(t *testing.T) {
			dir := t.TempDir()
			p := Paths{Machine: filepath.Join(dir, "machine.json"), User: filepath.Join(dir, "user.json")}
			env := func(v string) func(string) string {
				return func(k string) string {
					if k == o.env {
						return v
					}
					return ""
				}
			}
			c, err := Load(p, env(o.other))
			if err != nil || !strings.Contains(c.Server+c.ServerKey, o.other) {
				t.Fatalf("unlocked: %v %+v", err, c)
			}
			write(t, p.Machine, o.machine)
			write(t, p.User, o.machine) // the user's file agreeing changes nothing
			_, err = Load(p, env(o.other))
			var le *LockedError
			if !errs.Is(err, errs.Permission) || !errors.As(err, &le) || le.Setting != o.key || le.Source != o.env || le.File != p.Machine {
				t.Fatalf("override accepted or wrong error: %v", err)
			}
			for _, want := range []string{o.key, o.env, p.Machine, "locked"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not name %q", err, want)
				}
			}
			if c, err := Load(p, env(o.fixed)); err != nil || !c.Locked[o.key] {
				t.Errorf("the administrator's own value refused: %v", err)
			}
		})
	}
}

// A flag goes through CheckOverride, as the CLI's --server does.
func TestCheckOverride(t *testing.T) {
	dir := t.TempDir()
	p := Paths{Machine: filepath.Join(dir, "machine.json")}
	write(t, p.Machine, `{"server":"https://mkt.example.com","grace_days":3}`)
	c, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckOverride("server", "--server", "http://127.0.0.1:8790"); !errs.Is(err, errs.Permission) || !strings.Contains(err.Error(), "--server") || !strings.Contains(err.Error(), "leave the flag out") {
		t.Errorf("--server over a locked server: %v", err)
	}
	if err := c.CheckOverride("grace_days", "--grace-days", "9"); !errs.Is(err, errs.Permission) {
		t.Errorf("--grace-days over a locked grace_days: %v", err)
	}
	if err := c.CheckOverride("server", "--server", "https://mkt.example.com"); err != nil {
		t.Errorf("the same value: %v", err)
	}
	if err := c.CheckOverride("proxy", "--proxy", "http://proxy.example:3128"); err != nil {
		t.Errorf("an unlocked setting: %v", err)
	}
}

// Validation names the bad setting but never the credentials or the query
// a URL holds.
func TestValidationNeverQuotesCredentials(t *testing.T) {
	dir := t.TempDir()
	p := Paths{User: filepath.Join(dir, "user.json")}
	for _, key := range []string{"server", "proxy", "update_manifest"} {
		for _, bad := range []string{
			"socks4://user:s3cret@proxy.example:1080", "ftp://s3cret@host/x", "http://user:s3cret@", "https:///x?token=s3cret",
			"user:s3cret@proxy.example:3128", "http://user:s3/cret@proxy.example", "http://us er:s3cret@proxy.example",
		} {
			write(t, p.User, `{"`+key+`":"`+bad+`"}`)
			_, err := Load(p, nil)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), key) {
				t.Errorf("%s %q: %v", key, bad, err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s %q: the message quotes the secret: %v", key, bad, err)
			}
		}
	}
}
