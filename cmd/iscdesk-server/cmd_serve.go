package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
)

// usageEvery is how often serve reports finished days' usage (a report
// that failed is tried again then).
const usageEvery = time.Hour

// uploadsEvery is how often serve works the upload queue of async device
// licenses (the queue's own backoff decides when each is due).
const uploadsEvery = time.Second

// keysEvery is how often serve looks whether `keys rotate` changed the key
// file.
const keysEvery = 30 * time.Second

func serveCommand() *command {
	return &command{
		name: "serve",
		args: "[--dir DIR] [--addr HOST:PORT] [--db URL] [--marketplace URL]",
		summary: "Serve the desktop API until SIGTERM or Ctrl-C (requests in flight finish).\n\n" +
			"It applies pending migrations first, prints 'listening on http://HOST:PORT' (or\n" +
			"https) as its first line, and logs JSON lines on standard error. Plain HTTP is\n" +
			"served on loopback only, unless the config says behind_proxy.",
		setup: func(fs *flag.FlagSet, io *stdio) func(context.Context, []string) error {
			ff := addFolderFlags(fs)
			addr := fs.String("addr", "", "listen on `HOST:PORT` (default: the config's addr)")
			mkt := fs.String("marketplace", "", "the marketplace license API's base `URL` (default: the config's, else the real one)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("serve: takes no arguments")
				}
				return serve(ctx, io, ff, *addr, *mkt)
			}
		},
	}
}

func serve(ctx context.Context, io *stdio, ff folderFlags, addr, endpoint string) error {
	var metrics *httpapi.Metrics
	observe := func(op string, d time.Duration, err error) {
		if metrics != nil {
			metrics.ObserveUpstream(op, d, err)
		}
	}
	observeUpload := func(state, code string) {
		if metrics != nil {
			metrics.ObserveUpload(state, code)
		}
	}
	w, err := wire(ctx, ff, io, wireOptions{migrate: true, upstream: true, endpoint: endpoint, logTo: io.err, observe: observe,
		observeUpload: observeUpload})
	if err != nil {
		return err
	}
	defer w.Close()
	metrics = httpapi.NewMetrics(w.service.Stats)
	metrics.WatchUploads(w.service.UploadCounts)
	if addr == "" {
		addr = w.cfg.Addr
	}
	tls := w.cfg.TLSCert != "" || w.cfg.TLSKey != ""
	if tls && (w.cfg.TLSCert == "" || w.cfg.TLSKey == "") {
		return errs.Errorf("serve", errs.Invalid, "tls_cert and tls_key go together")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("serve: --addr %q: want HOST:PORT", addr)
	}
	if !tls && !w.cfg.BehindProxy && !netutil.IsLoopback(host) {
		return usageErrorf("serve: plain HTTP on %s: serve HTTPS (tls_cert, tls_key) or put a TLS proxy in front and set behind_proxy", addr)
	}
	proxies, _ := w.cfg.Proxies()
	api := httpapi.New(httpapi.Config{
		Service: w.service, Keys: w.ring, Metrics: metrics, Logger: w.log, Limits: w.cfg.Limits, TrustedProxies: proxies,
		Manifests: server.Manifests{Apps: w.cfg.Apps, Signer: w.ring},
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errs.E("serve", errs.Unavailable, err)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	fmt.Fprintf(io.out, "listening on %s://%s\n", scheme, ln.Addr())
	if f, ok := io.out.(*os.File); ok {
		_ = f.Sync()
	}
	w.log.Info("serving", "addr", ln.Addr().String(), "tls", tls, "db", w.store.Dialect(), "kid", w.ring.Published(time.Now())[0].Kid)

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go every(bg, usageEvery, func() {
		if n, err := w.service.ReportUsage(bg); err != nil {
			w.log.Warn("usage report incomplete", "sent", n, "err", err.Error())
		}
	})
	go watchKeys(bg, w)
	// Any replica reaps, every quarter of the lease TTL: marking the leases
	// past their end expired is one idempotent UPDATE, and a lease holds
	// nothing past its end anyway.
	go every(bg, w.service.Config().LeaseTTL/4, func() {
		if _, err := w.service.ReapLeases(bg); err != nil && bg.Err() == nil {
			w.log.Warn("reaping leases failed", "err", err.Error())
		}
	})
	go every(bg, uploadsEvery, func() {
		if _, err := w.service.WorkUploads(bg); err != nil && bg.Err() == nil {
			w.log.Warn("upload queue", "err", err.Error())
		}
	})

	err = httpapi.Serve(ctx, ln, api, w.cfg.TLSCert, w.cfg.TLSKey, w.log)
	if err != nil && !errors.Is(err, context.Canceled) {
		return errs.E("serve", errs.Other, err)
	}
	w.log.Info("stopped")
	return nil
}

// every runs fn now and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchKeys reloads the key ring when the file changes (`keys rotate` run
// beside a serving server).
func watchKeys(ctx context.Context, w *wired) {
	path := w.ring.Path()
	last := modTime(path)
	t := time.NewTicker(keysEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m := modTime(path); !m.Equal(last) {
			if err := w.ring.Reload(); err != nil {
				w.log.Error("vendor key file changed but cannot be read; keeping the old keys", "err", err.Error())
				continue
			}
			last = m
			w.log.Info("vendor keys reloaded")
		}
	}
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
