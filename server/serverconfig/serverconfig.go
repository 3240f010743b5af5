// Package serverconfig is the license server's folder: config.json (the
// settings docs/server.md lists), the vendor key file beside it, and where
// the marketplace AK/SK come from (the environment, a 0600 file named in the
// config, or a systemd credential; never argv, never the config itself).
package serverconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/keys"
)

// FileName is the config file in the server's folder.
const FileName = "config.json"

// DefaultDir is the server's folder when --dir is not given.
const DefaultDir = "iscdesk-server"

// DefaultAddr is where serve listens by default: loopback, plain HTTP (a
// reverse proxy in front terminates TLS).
const DefaultAddr = "127.0.0.1:8443"

// Duration is a time.Duration written as text in JSON ("24h", "30m").
type Duration struct{ time.Duration }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want a duration such as \"24h\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want e.g. \"24h\" or \"30m\"", s)
	}
	d.Duration = v
	return nil
}

// Config is config.json.
type Config struct {
	// Addr is where serve listens (HOST:PORT).
	Addr string `json:"addr"`
	// DB is the database: "sqlite:PATH" (relative to the folder) or
	// "postgres://…". The password of a postgres URL may be left out and
	// given as PGPASSWORD.
	DB string `json:"db"`
	// Marketplace is the license API's base URL; "" is the real one.
	Marketplace string `json:"marketplace,omitempty"`
	// CredentialsFile names a 0600 JSON file {"ak": "…", "sk": "…"} holding
	// the marketplace AK/SK, when they are not in the environment.
	CredentialsFile string `json:"credentials_file,omitempty"`
	// TLSCert and TLSKey make serve speak HTTPS.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// BehindProxy allows plain HTTP on a non-loopback address: a reverse
	// proxy or load balancer terminates TLS.
	BehindProxy bool `json:"behind_proxy,omitempty"`
	// TrustedProxies are the proxies (CIDR) whose X-Forwarded-For names
	// the client, for rate limits and logs.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`

	QueryInterval Duration `json:"query_interval"`
	KeyOverlap    Duration `json:"key_overlap"`
	// LeaseTTL and HeartbeatInterval: the leases of floating products
	// (products with "license_model": "floating") end when not renewed
	// within lease_ttl; holders renew every heartbeat_interval.
	LeaseTTL          Duration                  `json:"lease_ttl"`
	HeartbeatInterval Duration                  `json:"heartbeat_interval"`
	Default           server.Product            `json:"default_product"`
	Products          map[string]server.Product `json:"products,omitempty"`
	Limits            httpapi.Limits            `json:"limits"`
	// OfflineRequestDays: an air-gapped request file is answered at most
	// this many days after the desktop wrote it; 0 means 30
	// (server.DefaultOfflineRequestTTL).
	OfflineRequestDays int `json:"offline_request_days,omitempty"`
	// Apps are the newest release of each app, whose signed update
	// manifest GET /v1/apps/{app}/manifest serves.
	Apps map[string]server.Release `json:"apps,omitempty"`
	// Uploads tune the delivery of getLicenseAsync's device licenses.
	Uploads Uploads `json:"uploads"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level,omitempty"`
}

// Uploads is config.json's "uploads" (server.UploadPolicy).
type Uploads struct {
	Inline     Duration `json:"inline"`
	Backoff    Duration `json:"backoff"`
	MaxBackoff Duration `json:"max_backoff"`
	Lease      Duration `json:"lease"`
}

// Default is the config init writes.
func Default() Config {
	return Config{
		Addr:              DefaultAddr,
		DB:                "sqlite:iscdesk-server.db",
		QueryInterval:     Duration{server.DefaultQueryInterval},
		KeyOverlap:        Duration{keys.DefaultOverlap},
		LeaseTTL:          Duration{server.DefaultLeaseTTL},
		HeartbeatInterval: Duration{server.DefaultHeartbeat},
		Default:           server.Product{SeatMultiplier: 1, GraceDays: server.DefaultGraceDays},
		Products:          map[string]server.Product{},
		LogLevel:          "info",
		Uploads: Uploads{Inline: Duration{server.DefaultUploadInline}, Backoff: Duration{server.DefaultUploadBackoff},
			MaxBackoff: Duration{server.DefaultUploadMaxBackoff}, Lease: Duration{server.DefaultUploadLease}},
	}
}

// Folder is the server's folder.
type Folder struct{ Dir string }

// ConfigPath is config.json's path.
func (f Folder) ConfigPath() string { return filepath.Join(f.Dir, FileName) }

// KeysPath is the vendor key file's path.
func (f Folder) KeysPath() string { return filepath.Join(f.Dir, keys.FileName) }

// Init creates the folder (0700), a default config and a vendor key. It
// refuses a folder that has a config or a key already.
func (f Folder) Init(now time.Time) (*keys.Ring, error) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.ConfigPath()); err == nil {
		return nil, fmt.Errorf("%s exists: the folder is initialised already", f.ConfigPath())
	}
	ring, err := keys.Create(f.KeysPath(), now)
	if err != nil {
		return nil, err
	}
	raw, _ := json.MarshalIndent(Default(), "", "  ")
	if err := atomicfile.Write(f.ConfigPath(), append(raw, '\n'), 0o600); err != nil {
		return nil, err
	}
	return ring, nil
}

// Load reads config.json (unknown keys are refused: a typo must not pass
// silently) and fills in defaults.
func (f Folder) Load() (Config, error) {
	raw, err := os.ReadFile(f.ConfigPath())
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("%s not found: run 'iscdesk-server init --dir %s' first", f.ConfigPath(), f.Dir)
	}
	if err != nil {
		return Config{}, err
	}
	c := Default()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%s: %v", f.ConfigPath(), err)
	}
	if err := c.Policy().Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %v", f.ConfigPath(), err)
	}
	if _, err := c.Proxies(); err != nil {
		return Config{}, fmt.Errorf("%s: %v", f.ConfigPath(), err)
	}
	if err := server.ValidateReleases(c.Apps); err != nil {
		return Config{}, fmt.Errorf("%s: %v", f.ConfigPath(), err)
	}
	return c, nil
}

// Policy is the domain's part of the config.
func (c Config) Policy() server.Config {
	return server.Config{Products: c.Products, Default: c.Default, QueryInterval: c.QueryInterval.Duration,
		Uploads: server.UploadPolicy{Inline: c.Uploads.Inline.Duration, Backoff: c.Uploads.Backoff.Duration,
			MaxBackoff: c.Uploads.MaxBackoff.Duration, Lease: c.Uploads.Lease.Duration},
		OfflineRequestTTL: time.Duration(c.OfflineRequestDays) * 24 * time.Hour,
		LeaseTTL:          c.LeaseTTL.Duration, HeartbeatInterval: c.HeartbeatInterval.Duration}
}

// Proxies parses TrustedProxies.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies: %q is not an address or CIDR", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// DatabaseURL resolves DB against the folder: a relative sqlite path is in
// the folder.
func (f Folder) DatabaseURL(db string) string {
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok && !filepath.IsAbs(path) && !strings.HasPrefix(path, "//") {
		return "sqlite:" + filepath.Join(f.Dir, path)
	}
	return db
}

// CredentialsName is the systemd credential (LoadCredential=) serve reads
// the AK/SK from, as JSON like the credentials file.
const CredentialsName = "iscdesk-marketplace"

// Credentials finds the marketplace AK/SK: ISCDESK_AK and ISCDESK_SK, else
// the systemd credential CredentialsName, else credentials_file (which must
// not be readable by others). ok is false when none is configured.
func (f Folder) Credentials(c Config, getenv func(string) string) (cred aksk.Credentials, ok bool, err error) {
	ak, sk := getenv("ISCDESK_AK"), getenv("ISCDESK_SK")
	if ak != "" || sk != "" {
		if ak == "" || sk == "" {
			return aksk.Credentials{}, false, errors.New("set both ISCDESK_AK and ISCDESK_SK, or neither")
		}
		return aksk.Credentials{AK: ak, SK: sk}, true, nil
	}
	path, err := f.credentialsPath(c, getenv)
	if err != nil {
		return aksk.Credentials{}, false, err
	}
	if path == "" {
		return aksk.Credentials{}, false, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return aksk.Credentials{}, false, err
	}
	var v struct {
		AK string `json:"ak"`
		SK string `json:"sk"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.AK == "" || v.SK == "" {
		// Not the file's content in the error: it is a secret.
		return aksk.Credentials{}, false, fmt.Errorf("%s: want a JSON object {\"ak\": \"…\", \"sk\": \"…\"}", path)
	}
	return aksk.Credentials{AK: v.AK, SK: v.SK}, true, nil
}

// credentialsPath is the credentials file: the systemd credential when
// there is one, else credentials_file (which must not be readable by
// others); "" when neither is configured.
func (f Folder) credentialsPath(c Config, getenv func(string) string) (string, error) {
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		if p := filepath.Join(dir, CredentialsName); fileExists(p) {
			return p, nil
		}
	}
	if c.CredentialsFile == "" {
		return "", nil
	}
	path := c.CredentialsFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, path)
	}
	return path, keys.CheckPrivate(path)
}

// CallbackKeyEnv holds the marketplace's callback key (its accessKey for
// the calls it makes to this server), when it is not in the credentials
// file.
const CallbackKeyEnv = "ISCDESK_CALLBACK_KEY"

// CallbackKey finds the key that verifies the marketplace's callbacks:
// ISCDESK_CALLBACK_KEY, else the credentials file's (or systemd
// credential's) "callback_key". "" when none is configured. Like the AK/SK
// it is never in config.json, argv or a log.
func (f Folder) CallbackKey(c Config, getenv func(string) string) (string, error) {
	if k := getenv(CallbackKeyEnv); k != "" {
		return k, nil
	}
	path, err := f.credentialsPath(c, getenv)
	if err != nil || path == "" {
		return "", err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var v struct {
		CallbackKey *string `json:"callback_key"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%s: not a JSON object", path)
	}
	if v.CallbackKey != nil && *v.CallbackKey == "" {
		return "", fmt.Errorf("%s: callback_key is empty", path)
	}
	if v.CallbackKey == nil {
		return "", nil
	}
	return *v.CallbackKey, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
