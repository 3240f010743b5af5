// Package config loads iscdesk's settings from, highest first: command-line
// flags (applied by the caller), the environment, the user's config file, the
// machine-wide config file an administrator's installer writes, and defaults
// (docs/cli.md). Files are JSON; unknown keys are ignored so that an older
// client reads a newer file.
//
// A setting the machine-wide file sets is locked: neither the user's file,
// nor the environment, nor a command-line flag changes it. Errors are of
// kind errs.Invalid (a broken file or value) or errs.Permission (a locked
// setting overridden, *LockedError), and never quote a URL's credentials.
//
// It must not import fyne or the keyring: secrets never live in these files.
package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
)

// op names this package's operation in errors.
const op = "config"

// DefaultGracePeriod is how long a cached authorization stays valid without a
// successful online check.
const DefaultGracePeriod = 7 * 24 * time.Hour

// Config is the merged configuration.
type Config struct {
	// Server is the vendor license server's base URL (https, or http to
	// this machine only): activation, the daily check, deactivation and
	// device licenses go there. "" means the server that issued the cached
	// activation, and none for a first activation.
	Server string `json:"server,omitempty"`
	// Proxy is the proxy URL for outbound calls; "" means the environment's
	// HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
	Proxy string `json:"proxy,omitempty"`
	// GraceDays is the offline grace period in days; 0 means the default.
	GraceDays int `json:"grace_days,omitempty"`

	// CloudDir is the folder acting as the user's cloud drive for Save and
	// OpenCloudFile; "" means "iscdesk-cloud" in the user's home folder.
	CloudDir string `json:"cloud_dir,omitempty"`
	// SolverCommand is the argv template GetSolution runs, with {input} and
	// {output} placeholders; empty means no solver is configured.
	SolverCommand []string `json:"solver_command,omitempty"`
	// SolverTimeout bounds one solve, as a Go duration ("30m"); "" means
	// DefaultSolverTimeout.
	SolverTimeout string `json:"solver_timeout,omitempty"`
	// UpdateManifest is the URL of the update manifest CheckNewVersions
	// reads, "{app}" standing for the program's name; "" means the
	// server's own (/v1/apps/{app}/manifest), and no update check when no
	// server is configured.
	UpdateManifest string `json:"update_manifest,omitempty"`
	// ServerKey is the vendor's Ed25519 public key, standard base64 of its
	// 32 bytes: the pinned key that activation tokens and update manifests
	// must be signed with. "" means none pinned: activation is refused, and
	// so is every signed answer.
	ServerKey string `json:"server_key,omitempty"`
	// Language is the desktop app's language: "en", "zh" (Simplified
	// Chinese), or "" to follow the system locale.
	Language string `json:"language,omitempty"`

	// Locked lists the settings the machine-wide file sets: the desktop app
	// shows them read-only, the user's file cannot change them, and a flag
	// or an environment variable that tries is refused (CheckOverride).
	// Not read from files.
	Locked map[string]bool `json:"-"`

	// machineFile is the machine-wide file that locked them, for errors.
	machineFile string
}

// LockedError is a command-line flag or an environment variable that tries
// to change a setting the machine-wide file fixes. It comes wrapped in an
// error of kind errs.Permission.
type LockedError struct {
	Setting string // the config key, "server"
	Source  string // what tried: "ISCDESK_SERVER", "--server"
	File    string // the machine-wide file that fixes it
}

func (e *LockedError) Error() string {
	what, fix := "the environment variable "+e.Source, "unset it"
	if strings.HasPrefix(e.Source, "-") {
		what, fix = "the flag "+e.Source, "leave the flag out"
	}
	return fmt.Sprintf("the setting %s is locked by the machine-wide file %s: %s may not change it (%s, or ask the administrator)",
		e.Setting, e.File, what, fix)
}

// envSettings are the settings the environment may set, and their
// variables (docs/cli.md, "Environment").
var envSettings = []struct{ key, env string }{
	{"server", "ISCDESK_SERVER"},
	{"server_key", "ISCDESK_SERVER_KEY"},
}

// text returns the setting named key if it is one held as a string.
func (c *Config) text(key string) (*string, bool) {
	switch key {
	case "server":
		return &c.Server, true
	case "proxy":
		return &c.Proxy, true
	case "cloud_dir":
		return &c.CloudDir, true
	case "solver_timeout":
		return &c.SolverTimeout, true
	case "update_manifest":
		return &c.UpdateManifest, true
	case "server_key":
		return &c.ServerKey, true
	case "language":
		return &c.Language, true
	}
	return nil, false
}

// CheckOverride says whether source (a flag such as "--server", or an
// environment variable) may set the setting key to value: it may unless
// the machine-wide file locks key to another value. The error is of kind
// errs.Permission and wraps a *LockedError naming the setting and the file.
func (c Config) CheckOverride(key, source, value string) error {
	if !c.Locked[key] {
		return nil
	}
	if cur, ok := c.text(key); ok && *cur == value {
		return nil // says what the administrator says
	}
	return errs.E(op, errs.Permission, &LockedError{Setting: key, Source: source, File: c.machineFile})
}

// DefaultSolverTimeout bounds a solve when the configuration sets no limit.
const DefaultSolverTimeout = 2 * time.Hour

// SolverTimeoutDuration returns SolverTimeout as a duration.
func (c Config) SolverTimeoutDuration() time.Duration {
	if d, err := time.ParseDuration(c.SolverTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultSolverTimeout
}

// GracePeriod returns the grace period as a duration.
func (c Config) GracePeriod() time.Duration {
	if c.GraceDays <= 0 {
		return DefaultGracePeriod
	}
	return time.Duration(c.GraceDays) * 24 * time.Hour
}

// Paths says where the two config files are.
type Paths struct {
	Machine string // written by the installer, read-only for users
	User    string // the user's own settings
	// TrustCurrentUser lets the user running this process own the machine
	// file and its folder, as the administrators may (perm.go). For tests,
	// whose temporary folders are the test user's; DefaultPaths leaves it
	// off.
	TrustCurrentUser bool
}

// DefaultPaths returns this OS's config file locations.
func DefaultPaths() Paths {
	p := Paths{Machine: machineConfigPath()}
	if dir, err := os.UserConfigDir(); err == nil {
		p.User = filepath.Join(dir, "iscdesk", "config.json")
	}
	return p
}

// Load merges machine file, user file and environment (getenv) over the
// defaults. A missing file is fine; an unreadable or malformed one is an
// error naming the file, so a typo is never silently ignored.
func Load(p Paths, getenv func(string) string) (Config, error) {
	var c Config
	c.Locked = map[string]bool{}
	c.machineFile = p.Machine
	if p.Machine != "" {
		m, err := readMachineFile(p)
		if err != nil {
			return Config{}, err
		}
		if m.Server != "" {
			c.Locked["server"] = true
		}
		if m.Proxy != "" {
			c.Locked["proxy"] = true
		}
		for name, set := range map[string]bool{
			"grace_days": m.GraceDays != 0, "cloud_dir": m.CloudDir != "",
			"solver_command": len(m.SolverCommand) > 0, "solver_timeout": m.SolverTimeout != "",
			"update_manifest": m.UpdateManifest != "", "language": m.Language != "",
			"server_key": m.ServerKey != "",
		} {
			if set {
				c.Locked[name] = true
			}
		}
		c.merge(m)
	}
	if p.User != "" {
		u, err := readFile(p.User)
		if err != nil {
			return Config{}, err
		}
		// Settings the administrator fixed machine-wide stay fixed.
		if c.Locked["server"] {
			u.Server = ""
		}
		if c.Locked["proxy"] {
			u.Proxy = ""
		}
		if c.Locked["grace_days"] {
			u.GraceDays = 0
		}
		if c.Locked["cloud_dir"] {
			u.CloudDir = ""
		}
		if c.Locked["solver_command"] {
			u.SolverCommand = nil
		}
		if c.Locked["solver_timeout"] {
			u.SolverTimeout = ""
		}
		if c.Locked["update_manifest"] {
			u.UpdateManifest = ""
		}
		if c.Locked["language"] {
			u.Language = ""
		}
		if c.Locked["server_key"] {
			u.ServerKey = ""
		}
		c.merge(u)
	}
	if getenv != nil {
		for _, e := range envSettings {
			v := getenv(e.env)
			if v == "" {
				continue
			}
			if err := c.CheckOverride(e.key, e.env, v); err != nil {
				return Config{}, err
			}
			field, _ := c.text(e.key)
			*field = v
		}
	}
	return c, c.Validate()
}

func (c *Config) merge(o Config) {
	if o.Server != "" {
		c.Server = o.Server
	}
	if o.Proxy != "" {
		c.Proxy = o.Proxy
	}
	if o.GraceDays != 0 {
		c.GraceDays = o.GraceDays
	}
	if o.CloudDir != "" {
		c.CloudDir = o.CloudDir
	}
	if len(o.SolverCommand) > 0 {
		c.SolverCommand = o.SolverCommand
	}
	if o.SolverTimeout != "" {
		c.SolverTimeout = o.SolverTimeout
	}
	if o.UpdateManifest != "" {
		c.UpdateManifest = o.UpdateManifest
	}
	if o.Language != "" {
		c.Language = o.Language
	}
	if o.ServerKey != "" {
		c.ServerKey = o.ServerKey
	}
}

// Validate checks the values that can be checked without the network. Its
// errors are of kind errs.Invalid; a URL is named redacted (a proxy's
// password, a token in the query never appear).
func (c Config) Validate() error {
	invalid := func(format string, a ...any) error { return errs.Errorf(op, errs.Invalid, format, a...) }
	for _, name := range []string{"server", "proxy", "update_manifest"} {
		v, _ := c.text(name)
		if *v == "" {
			continue
		}
		u, err := url.Parse(*v)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			if shown := netutil.RedactString(*v); shown != "" {
				return invalid("%s %q is not an http(s) URL", name, shown)
			}
			return invalid("%s is not an http(s) URL", name)
		}
		if name == "server" && u.Scheme == "http" && !netutil.IsLoopback(u.Hostname()) {
			return invalid("server %q: plain http is allowed only to this machine; use https", netutil.RedactString(*v))
		}
	}
	if c.GraceDays < 0 || c.GraceDays > 365 {
		return invalid("grace_days %d out of range 0..365", c.GraceDays)
	}
	if c.SolverTimeout != "" {
		if d, err := time.ParseDuration(c.SolverTimeout); err != nil || d <= 0 {
			return invalid("solver_timeout %q is not a positive duration such as \"30m\"", c.SolverTimeout)
		}
	}
	if c.ServerKey != "" {
		if k, err := base64.StdEncoding.DecodeString(c.ServerKey); err != nil || len(k) != ed25519.PublicKeySize {
			return invalid("server_key is not the base64 of a 32-byte Ed25519 public key")
		}
	}
	switch c.Language {
	case "", "en", "zh":
	default:
		return invalid("language %q is not one of \"en\", \"zh\" or \"\" (the system's)", c.Language)
	}
	if len(c.SolverCommand) > 0 && !filepath.IsAbs(c.SolverCommand[0]) {
		return invalid("solver_command must start with an absolute program path, not %q", c.SolverCommand[0])
	}
	return nil
}

// LoadUser reads the user's file alone (a missing file is the zero Config),
// so that a settings screen rewrites only what the user set, never copying
// the administrator's or the environment's values into it.
func LoadUser(path string) (Config, error) {
	if path == "" {
		return Config{}, nil
	}
	return readFile(path)
}

func readFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, errs.E(op, errs.Invalid, err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, errs.Errorf(op, errs.Invalid, "%s: %v", path, err)
	}
	return c, nil
}

// SaveUser writes the user's settings atomically, readable by the user only.
func SaveUser(path string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}
