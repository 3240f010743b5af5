package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/version"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/keys"
	"github.com/iscdesk/iscdesk/server/serverconfig"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
	"github.com/iscdesk/iscdesk/server/upstream"
)

// upstreamTimeout bounds one marketplace call with its retries: a device
// waits for its activation, so less than the marketplace client's minute.
const upstreamTimeout = 30 * time.Second

// wired is a service and what it was built from.
type wired struct {
	cfg     serverconfig.Config
	store   *sqlstore.Store
	ring    *keys.Ring
	service *server.Service
	log     *slog.Logger
}

func (w *wired) Close() { w.store.Close() }

// wireOptions say what a command needs.
type wireOptions struct {
	migrate  bool                                      // apply migrations at open (serve)
	upstream bool                                      // the marketplace will be called: AK/SK required
	endpoint string                                    // --marketplace, overriding the config
	logTo    io.Writer                                 // nil: discard
	observe  func(op string, d time.Duration, e error) // upstream metrics
	// observeUpload counts upload attempts (metrics).
	observeUpload func(state, code string)
}

func wire(ctx context.Context, f folderFlags, io *stdio, o wireOptions) (*wired, error) {
	cfg, dbURL, err := f.load()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if o.logTo != nil {
		log = newLogger(o.logTo, cfg.LogLevel)
	}
	ring, err := keys.Load(f.folder().KeysPath())
	if err != nil {
		return nil, errs.E("vendor key", errs.Invalid, err)
	}
	cred, ok, err := f.folder().Credentials(cfg, io.getenv)
	if err != nil {
		return nil, errs.E("marketplace credentials", errs.Credentials, err)
	}
	if o.upstream && !ok {
		return nil, errs.Errorf("marketplace credentials", errs.Credentials,
			"none configured: set ISCDESK_AK and ISCDESK_SK, or credentials_file in %s (a 0600 file), or the systemd credential %s",
			f.folder().ConfigPath(), serverconfig.CredentialsName)
	}
	endpoint := cfg.Marketplace
	if o.endpoint != "" {
		endpoint = o.endpoint
	}
	client, err := marketplace.New(marketplace.Config{
		Endpoint: endpoint, Credentials: cred, Timeout: upstreamTimeout,
		UserAgent: "iscdesk-server/" + version.Version, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	var callbackKey string
	if o.upstream {
		if callbackKey, err = f.folder().CallbackKey(cfg, io.getenv); err != nil {
			return nil, errs.E("callback key", errs.Credentials, err)
		}
		if callbackKey == "" {
			log.Warn("no callback key configured: the marketplace's callbacks will be refused (set " +
				serverconfig.CallbackKeyEnv + " or callback_key in the credentials file)")
		}
	}
	st, err := openStore(ctx, dbURL, o.migrate, log)
	if err != nil {
		return nil, err
	}
	svc, err := server.New(cfg.Policy(), server.Deps{
		Store: st, Marketplace: upstream.Marketplace{Client: client, Observe: o.observe}, Signer: ring, Logger: log,
		CallbackKey: callbackKey, Uploader: upstream.Uploader{Client: client, Observe: o.observe}, ObserveUpload: o.observeUpload,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &wired{cfg: cfg, store: st, ring: ring, service: svc, log: log}, nil
}

// withService runs fn on a service for the support commands (no migration,
// no marketplace call).
func withService(ctx context.Context, f folderFlags, io *stdio, fn func(w *wired) error) error {
	w, err := wire(ctx, f, io, wireOptions{})
	if err != nil {
		return err
	}
	defer w.Close()
	return fn(w)
}
