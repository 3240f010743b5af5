// Package wiring builds what a process of iscdesk runs on from its
// environment: the configuration, the OS keyring, the marketplace client,
// the one license service, and the agent with its default hooks. Both
// binaries (cmd/iscdesk, the headless one, and cmd/iscdesk-desktop, the
// window) wire themselves through it, so neither has logic of its own.
//
// It must not import the GUI toolkit or package ui: the headless binary
// links it and stays free of cgo.
package wiring

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/childenv"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
)

// CallTimeout bounds every marketplace call, retries and the fallback host
// included: a command gives up within a minute.
const CallTimeout = 55 * time.Second

// credentialsAccount is the keyring entry (service "iscdesk") holding the
// marketplace AK/SK as one JSON value, so that both change together.
const credentialsAccount = "marketplace-credentials"

// lockName is the lock file, beside the user's config file, that
// serialises changes of the cached authorization across processes.
const lockName = "authorization.lock"

// Env is one process's wiring. The zero value with Getenv set is the real
// thing; tests set the other fields. Build one per process and keep it: it
// holds the process's license service.
type Env struct {
	Getenv    func(string) string
	Paths     *config.Paths          // the config files; nil means config.DefaultPaths
	Secrets   secret.Store           // the OS keyring; nil means secret.Keyring{}
	MachineID func() (string, error) // the protected machine id; nil means store.MachineID
	// Logger receives what the license service and the agent log; nil
	// discards it (the CLI's commands keep standard error to one line).
	Logger *slog.Logger

	licensesOnce sync.Once
	licenses     *licensing.Service

	clientMu  sync.Mutex
	clientKey clientKey
	client    *marketplace.Client
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

// Credentials come from ISCDESK_AK/ISCDESK_SK, else from the OS keyring.
// None at all is not an error here: the marketplace client then refuses to
// call with kind Credentials, which says what to do.
func (e *Env) Credentials(ctx context.Context) (aksk.Credentials, error) {
	c := aksk.Credentials{AK: e.Getenv(childenv.AK), SK: e.Getenv(childenv.SK)}
	if c.AK != "" || c.SK != "" {
		if !c.Valid() {
			return c, errs.E("credentials", errs.Credentials, errors.New("set both ISCDESK_AK and ISCDESK_SK, or neither"))
		}
		return c, nil
	}
	v, err := e.SecretStore().Get(ctx, credentialsAccount)
	if errors.Is(err, secret.ErrNotFound) || errors.Is(err, secret.ErrUnavailable) {
		return c, nil
	}
	if err != nil {
		return c, errs.E("credentials", errs.Storage, err)
	}
	var stored struct{ AK, SK string }
	if json.Unmarshal([]byte(v), &stored) != nil {
		return c, errs.E("credentials", errs.Storage, errors.New("the stored credentials are damaged: run 'iscdesk credentials set' again"))
	}
	return aksk.Credentials{AK: stored.AK, SK: stored.SK}, nil
}

// StoreCredentials writes AK/SK to the OS keyring as one entry, so that both
// change together (the CLI and the window's Settings).
func (e *Env) StoreCredentials(ctx context.Context, cred aksk.Credentials) error {
	v, _ := json.Marshal(struct{ AK, SK string }{cred.AK, cred.SK})
	if err := e.SecretStore().Set(ctx, credentialsAccount, string(v)); err != nil {
		return errs.E("credentials", errs.Storage, err)
	}
	return nil
}

// ClearCredentials removes the stored AK/SK.
func (e *Env) ClearCredentials(ctx context.Context) error {
	if err := e.SecretStore().Delete(ctx, credentialsAccount); err != nil {
		return errs.E("credentials", errs.Storage, err)
	}
	return nil
}

// clientKey is what a marketplace client is built from.
type clientKey struct {
	endpoint, proxy string
	cred            aksk.Credentials
}

// Marketplace returns the marketplace client for endpoint ("" means the
// marketplace with its fallback host) with the current proxy and
// credentials. The last client is kept while they stay the same, so its
// connections are reused.
func (e *Env) Marketplace(ctx context.Context, endpoint string) (*marketplace.Client, error) {
	cfg, err := e.LoadConfig()
	if err != nil {
		return nil, err
	}
	cred, err := e.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	key := clientKey{endpoint: endpoint, proxy: cfg.Proxy, cred: cred}
	e.clientMu.Lock()
	defer e.clientMu.Unlock()
	if e.client != nil && e.clientKey == key {
		return e.client, nil
	}
	client, err := marketplace.New(marketplace.Config{
		Endpoint: endpoint, Credentials: cred, Proxy: cfg.Proxy,
		Timeout: CallTimeout, UserAgent: version.UserAgent,
	})
	if err != nil {
		return nil, err
	}
	e.client, e.clientKey = client, key
	return client, nil
}

// Licenses is the process's one license service, built on the first call.
// It opens the record store on its first use, reads the settings for every
// flow, and shares a lock file with the other processes of this user.
func (e *Env) Licenses() *licensing.Service {
	e.licensesOnce.Do(func() {
		deviceID := e.MachineID
		if deviceID == nil {
			deviceID = store.MachineID
		}
		e.licenses = &licensing.Service{
			Store: store.Deferred(store.Options{Secrets: e.SecretStore(), Dir: e.DataDir(), MachineID: e.MachineID}),
			Marks: store.NewMarks(e.SecretStore(), e.MachineID, e.markFiles()...),
			Settings: func() (licensing.Settings, error) {
				c, err := e.LoadConfig()
				return licensing.Settings{Endpoint: c.Endpoint, Grace: c.GracePeriod()}, err
			},
			Market: func(ctx context.Context, endpoint string) (licensing.Marketplace, error) {
				c, err := e.Marketplace(ctx, endpoint)
				if err != nil {
					return nil, err
				}
				return c, nil
			},
			DefaultEndpoint: marketplace.DefaultEndpoint,
			LockFile:        e.lockFile(),
			Fingerprint:     Fingerprint,
			DeviceID:        deviceID,
			Logger:          e.logger(),
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
