// Package wiring builds what a process of iscdesk runs on from its
// environment: the configuration, the OS keyring, the vendor license
// server's client, the one license service, and the agent with its default
// hooks. Both binaries (cmd/iscdesk, the headless one, and
// cmd/iscdesk-desktop, the window) wire themselves through it, so neither
// has logic of its own.
//
// It must not import the GUI toolkit or package ui: the headless binary
// links it and stays free of cgo.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/remote"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

// CallTimeout bounds every call to the vendor license server: a command
// gives up within a minute.
const CallTimeout = 55 * time.Second

// lockName is the lock file, beside the user's config file, that
// serialises changes of the cached activation across processes.
const lockName = "authorization.lock"

// Env is one process's wiring. The zero value with Getenv set is the real
// thing; tests set the other fields. Build one per process and keep it: it
// holds the process's license service.
type Env struct {
	Getenv    func(string) string
	Paths     *config.Paths          // the config files; nil means config.DefaultPaths
	Secrets   secret.Store           // the OS keyring; nil means secret.Keyring{}
	MachineID func() (string, error) // the protected machine id; nil means store.MachineID
	// Fingerprint collects this machine's fingerprint; nil means the
	// probes (Fingerprint). Tests stand in other machines with it.
	Fingerprint func(ctx context.Context) devinfo.Fingerprint
	// Host names this machine to the license server; nil means its host
	// name.
	Host func() string
	// Logger receives what the license service and the agent log; nil
	// discards it (the CLI's commands keep standard error to one line).
	Logger *slog.Logger

	licensesOnce sync.Once
	licenses     *licensing.Service
}

// ConfigPaths says where the config files are.
func (e *Env) ConfigPaths() config.Paths {
	if e.Paths != nil {
		return *e.Paths
	}
	return config.DefaultPaths()
}

// LoadConfig reads the configuration files and the environment. A broken
// file is an error of kind Invalid naming it; a refusal config gives a kind
// of its own keeps it (Permission: a machine-wide file others than the
// administrators can change, or an environment variable over a setting the
// machine-wide file locks).
func (e *Env) LoadConfig() (config.Config, error) {
	c, err := config.Load(e.ConfigPaths(), e.Getenv)
	if err != nil && errs.KindOf(err) == errs.Other {
		err = errs.E("config", errs.Invalid, err)
	}
	return c, err
}

// DataDir is the folder of the encrypted-file fallback, the lock file and
// the agent's files: beside the user's config file.
func (e *Env) DataDir() string { return filepath.Dir(e.ConfigPaths().User) }

// StateDir is the user's state folder for iscdesk, which holds a copy of
// the license service's clock mark: the OS's own (XDG_STATE_HOME on Linux,
// %LOCALAPPDATA% on Windows), or, when Paths is set (tests), a "state"
// folder beside the user's config file. "" when none is known.
func (e *Env) StateDir() string {
	if e.Paths != nil {
		if e.Paths.User == "" {
			return ""
		}
		return filepath.Join(e.DataDir(), "state")
	}
	return defaultStateDir()
}

// markFiles are the clock mark's file copies: in the state folder and in
// the iscdesk folder, so that there are two even where no OS keyring holds
// a third, and restoring an older copy of either folder takes nothing back.
func (e *Env) markFiles() []string {
	var files []string
	if dir := e.StateDir(); dir != "" {
		files = append(files, filepath.Join(dir, store.MarkFile))
	}
	if e.ConfigPaths().User != "" {
		files = append(files, filepath.Join(e.DataDir(), store.MarkFile))
	}
	return files
}

// SecretStore is the OS keyring.
func (e *Env) SecretStore() secret.Store {
	if e.Secrets != nil {
		return e.Secrets
	}
	return secret.Keyring{}
}

// logger is Logger with URLs redacted in every line (see redacting).
func (e *Env) logger() *slog.Logger {
	if e.Logger != nil {
		return slog.New(redacting{e.Logger.Handler()})
	}
	return slog.New(slog.DiscardHandler)
}

// Settings are the license service's settings from the configuration: the
// server, the pinned vendor key, the local grace bound.
func (e *Env) Settings() (licensing.Settings, error) {
	c, err := e.LoadConfig()
	if err != nil {
		return licensing.Settings{}, err
	}
	set := licensing.Settings{Server: c.Server}
	if c.GraceDays > 0 {
		set.Grace = c.GracePeriod()
	}
	if c.ServerKey != "" {
		pub, err := token.ParsePublicKey(c.ServerKey)
		if err != nil {
			return set, errs.E("config", errs.Invalid, fmt.Errorf("server_key: %w", err))
		}
		set.Keys = activation.Pinned(pub)
	}
	return set, nil
}

// Server returns the client of the vendor license server at url, through
// the configured proxy (else the environment's), bounded by CallTimeout.
func (e *Env) Server(_ context.Context, url string) (licensing.Server, error) {
	cfg, err := e.LoadConfig()
	if err != nil {
		return nil, err
	}
	proxy, err := netutil.Proxy(cfg.Proxy)
	if err != nil {
		return nil, errs.E("config", errs.Invalid, err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = proxy
	return remote.New(url, &http.Client{Timeout: CallTimeout, Transport: userAgent{transport}}, nil), nil
}

// userAgent names iscdesk and its version in every request.
type userAgent struct{ base http.RoundTripper }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", version.UserAgent)
	return u.base.RoundTrip(r)
}

// Licenses is the process's one license service, built on the first call.
// It opens the record store on its first use, reads the settings for every
// flow, and shares a lock file with the other processes of this user.
func (e *Env) Licenses() *licensing.Service {
	e.licensesOnce.Do(func() {
		collect := e.Fingerprint
		if collect == nil {
			collect = Fingerprint
		}
		e.licenses = &licensing.Service{
			Store:       store.Deferred(store.Options{Secrets: e.SecretStore(), Dir: e.DataDir(), MachineID: e.MachineID}),
			Marks:       store.NewMarks(e.SecretStore(), e.MachineID, e.markFiles()...),
			Settings:    e.Settings,
			Connect:     e.Server,
			LockFile:    e.lockFile(),
			Fingerprint: collect,
			Host:        e.Host,
			App:         "iscdesk",
			Version:     version.Version,
			Logger:      e.logger(),
		}
	})
	return e.licenses
}

// lockFile is the lock file beside the user's config file; "" (a lock
// within the process only) when the system has no config folder for the
// user.
func (e *Env) lockFile() string {
	if e.ConfigPaths().User == "" {
		return ""
	}
	return filepath.Join(e.DataDir(), lockName)
}

// Fingerprint collects this machine's fingerprint, within 5 seconds.
func Fingerprint(ctx context.Context) devinfo.Fingerprint {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return fingerprint.Collector{}.Collect(ctx)
}
