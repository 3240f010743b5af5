package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
)

// callTimeout bounds every marketplace call of the CLI, retries and the
// fallback host included: the CLI gives up within a minute.
const callTimeout = 55 * time.Second

// credentialsAccount is the keyring entry (service "iscdesk") holding the
// marketplace AK/SK as one JSON value, so that both change together.
const credentialsAccount = "marketplace-credentials"

// loadConfig reads the configuration files and the environment.
func (io *stdio) loadConfig() (config.Config, error) {
	c, err := config.Load(io.configPaths(), io.getenv)
	if err != nil {
		return c, usageErrorf("%v", err)
	}
	return c, nil
}

func (io *stdio) configPaths() config.Paths {
	if io.paths != nil {
		return *io.paths
	}
	return config.DefaultPaths()
}

// dataDir is the folder of the encrypted-file fallback: beside the user's
// config file.
func (io *stdio) dataDir() string { return filepath.Dir(io.configPaths().User) }

func (io *stdio) secretStore() secret.Store {
	if io.secrets != nil {
		return io.secrets
	}
	return secret.Keyring{}
}

// credentials come from ISCDESK_AK/ISCDESK_SK, else from the OS keyring.
// None at all is not an error here: the client then refuses to call with
// kind Credentials, which says what to do.
func (io *stdio) credentials(ctx context.Context) (aksk.Credentials, error) {
	c := aksk.Credentials{AK: io.getenv("ISCDESK_AK"), SK: io.getenv("ISCDESK_SK")}
	if c.AK != "" || c.SK != "" {
		if !c.Valid() {
			return c, errs.E("credentials", errs.Credentials, errors.New("set both ISCDESK_AK and ISCDESK_SK, or neither"))
		}
		return c, nil
	}
	v, err := io.secretStore().Get(ctx, credentialsAccount)
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

// openStore opens the authorization store: the OS keyring, or the encrypted
// file where no keyring exists.
func (io *stdio) openStore(ctx context.Context) (store.Store, error) {
	return store.Open(ctx, store.Options{Secrets: io.secretStore(), Dir: io.dataDir(), MachineID: io.machineID})
}

// newManager wires the license flows for endpoint ("" means the marketplace
// with its fallback host). Without online it has no marketplace client.
func (io *stdio) newManager(ctx context.Context, cfg config.Config, endpoint string, online bool) (*licensing.Manager, error) {
	m, _, err := io.newManagerClient(ctx, cfg, endpoint, online)
	return m, err
}

// newManagerClient is newManager that also returns its marketplace client
// (nil offline), which the agent uses to have device licenses issued.
func (io *stdio) newManagerClient(ctx context.Context, cfg config.Config, endpoint string, online bool) (*licensing.Manager, *marketplace.Client, error) {
	st, err := io.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := &licensing.Manager{
		Store:    st,
		Grace:    cfg.GracePeriod(),
		Endpoint: endpoint,
		Fingerprint: func(ctx context.Context) devinfo.Fingerprint {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return fingerprint.Collector{}.Collect(ctx)
		},
		DeviceID: store.MachineID,
	}
	if io.machineID != nil {
		m.DeviceID = io.machineID
	}
	if !online {
		return m, nil, nil
	}
	cred, err := io.credentials(ctx)
	if err != nil {
		return nil, nil, err
	}
	client, err := marketplace.New(marketplace.Config{
		Endpoint: endpoint, Credentials: cred, Proxy: cfg.Proxy,
		Timeout: callTimeout, UserAgent: version.UserAgent,
	})
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	m.Market = client
	if endpoint == "" {
		m.Endpoint = marketplace.DefaultEndpoint
	}
	return m, client, nil
}

// formatTime renders a time for JSON: RFC 3339 UTC, "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
