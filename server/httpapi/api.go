// Package httpapi is the desktop-facing HTTP API of the vendor license
// server: JSON over HTTP(S) under /v1 (activate; check, deactivate and
// device-license signed by the device key; the vendor keys), and the
// operator's /healthz, /readyz and /metrics. It decodes and caps requests,
// limits their rate, logs each one (log/slog, JSON, never a secret or a
// whole license code) and maps the domain's errors to statuses in one table.
// docs/server-api.md is its contract.
//
// It calls package server's use cases and holds no rule of its own.
package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	mwire "github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/keys"
	"github.com/iscdesk/iscdesk/server/wire"
	"github.com/iscdesk/iscdesk/token/activation"
)

// Config configures the API.
type Config struct {
	Service *server.Service
	// Keys publishes the vendor keys (GET /v1/keys).
	Keys interface {
		Published(now time.Time) []keys.Public
	}
	// Manifests signs the update manifests GET /v1/apps/{app}/manifest
	// serves (server.Manifests); nil answers 404 (none configured).
	Manifests interface {
		Manifest(app string) (string, error)
	}
	Metrics *Metrics     // nil: no /metrics
	Logger  *slog.Logger // nil: discard
	Limits  Limits
	// TrustedProxies: peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	Now            func() time.Time
}

// API is the HTTP handler.
type API struct {
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	mux        *http.ServeMux
	perAddr    *buckets
	actPerAddr *buckets
	actPerCode *buckets
}

// New builds the API.
func New(cfg Config) *API {
	a := &API{cfg: cfg, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	l := cfg.Limits.withDefaults()
	a.perAddr = newBuckets(l.PerAddr, l.PerAddrBurst)
	a.actPerAddr = newBuckets(l.ActivatePerAddr/60, l.ActivatePerAddrBurst)
	a.actPerCode = newBuckets(l.ActivatePerCode/60, l.ActivatePerCodeBurst)

	a.route("POST "+wire.PathActivate, "activate", a.activate)
	a.route("POST "+wire.PathCheck, "check", signedRoute(a, ParseCheck, a.check))
	a.route("POST "+wire.PathDeactivate, "deactivate", signedRoute(a, ParseCheck, a.deactivate))
	a.route("POST "+wire.PathDeviceLicense, "device-license", signedRoute(a, ParseDeviceLicense, a.deviceLicense))
	a.route("POST "+wire.PathLeases, "lease", signedRoute(a, ParseLease, a.lease))
	a.route("POST "+wire.PathLeaseHeartbeat, "heartbeat", a.heartbeat)
	a.route("POST "+wire.PathLeaseReturn, "lease-return", a.leaseReturn)
	a.route("POST "+wire.PathOfflineAnswer, "offline-answer", a.offlineAnswer)
	a.route("GET "+wire.PathKeys, "keys", a.keys)
	a.routeCallbacks()
	a.route("GET /v1/apps/{app}/manifest", "manifest", a.manifest)
	a.route("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) (int, any) {
		return http.StatusOK, map[string]string{"status": "ok"}
	})
	a.route("GET /readyz", "readyz", a.ready)
	if cfg.Metrics != nil {
		h := promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{})
		a.mux.Handle("GET /metrics", h)
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: ErrorDetail{Kind: errs.NotExist.Name(), Message: "no such route: see docs/server-api.md"}})
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handler answers a status and a body to encode as JSON (an ErrorBody for
// errors); it writes nothing itself unless it returns status 0, or the
// status it wrote with body written{}.
type handler func(w http.ResponseWriter, r *http.Request) (int, any)

// written is the body of a handler that wrote its answer itself.
type written struct{}

// route registers h under pattern with what every route gets: the per-address
// rate limit, the body cap, the log line and the metrics.
func (a *API) route(pattern, name string, h handler) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		addr := clientAddr(r, a.cfg.TrustedProxies)
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		var status int
		var body any
		if name != "healthz" && name != "readyz" && !a.perAddr.allow(addr, start) {
			status, body = a.limited("address")
		} else {
			status, body = h(w, r)
		}
		if _, done := body.(written); status != 0 && !done {
			writeJSON(w, status, body)
		}
		d := time.Since(start)
		if a.cfg.Metrics != nil {
			a.cfg.Metrics.observeRequest(name, status, d)
		}
		attrs := []slog.Attr{slog.String("route", name), slog.Int("status", status),
			slog.Duration("duration", d), slog.String("client", addr)}
		if ca, ok := body.(callback.Answer); ok {
			attrs = append(attrs, slog.String("result", ca.ResultCode))
		}
		if eb, ok := body.(ErrorBody); ok {
			attrs = append(attrs, slog.String("kind", eb.Error.Kind))
			if eb.Error.Reason != "" {
				attrs = append(attrs, slog.String("reason", eb.Error.Reason))
			}
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		} else if name == "healthz" || name == "readyz" {
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

func (a *API) limited(which string) (int, any) {
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.limited.WithLabelValues(which).Inc()
	}
	return http.StatusTooManyRequests, ErrorBody{Error: ErrorDetail{Kind: errs.Busy.Name(), Reason: wire.ReasonRateLimited,
		Message: "too many requests from this " + which + "; wait a minute and try again"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads the capped body of a JSON POST.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return nil, errs.Errorf("request", errs.Invalid, "Content-Type %q: want application/json", ct)
	}
	body, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errs.Errorf("request", errs.Invalid, "body larger than %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return nil, errs.E("request", errs.Invalid, err)
	}
	return body, nil
}

func isJSON(ct string) bool {
	return ct == "application/json" || len(ct) > 16 && ct[:16] == "application/json" && (ct[16] == ';' || ct[16] == ' ')
}

func (a *API) fail(r *http.Request, err error) (int, any) {
	status, body := errorAnswer(err)
	if status >= 500 {
		// The detail stays here: the device gets a plain sentence.
		a.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err.Error())
	}
	return status, body
}

func invalid(err error) error { return errs.E("request", errs.Invalid, err) }

func (a *API) activate(w http.ResponseWriter, r *http.Request) (int, any) {
	now := a.now()
	addr := clientAddr(r, a.cfg.TrustedProxies)
	if !a.actPerAddr.allow(addr, now) {
		return a.limited("address")
	}
	body, err := readBody(r)
	if err != nil {
		return a.fail(r, err)
	}
	req, err := ParseActivate(body)
	if err != nil {
		return a.fail(r, invalid(err))
	}
	if code, err := licensing.NormalizeCode(req.Code); err == nil && !a.actPerCode.allow(activation.CodeHash(code), now) {
		return a.limited("license code")
	}
	g, err := a.cfg.Service.Activate(r.Context(), req)
	if err != nil {
		return a.fail(r, err)
	}
	return http.StatusOK, wire.ActivateAnswer{Token: g.Token, ActivationID: g.Activation.ID}
}

// offlineAnswer answers an air-gapped request file for a vendor portal. It
// may bind a seat, so it shares the activate limit per address; the request
// is signed by its device key and answered once.
func (a *API) offlineAnswer(w http.ResponseWriter, r *http.Request) (int, any) {
	if !a.actPerAddr.allow(clientAddr(r, a.cfg.TrustedProxies), a.now()) {
		return a.limited("address")
	}
	body, err := readBody(r)
	if err != nil {
		return a.fail(r, err)
	}
	req, err := ParseOfflineAnswer(body)
	if err != nil {
		return a.fail(r, invalid(err))
	}
	ans, err := a.cfg.Service.AnswerOffline(r.Context(), req)
	if err != nil {
		return a.fail(r, err)
	}
	return http.StatusOK, wire.OfflineAnswer{Kind: ans.Kind, Answer: ans.Text, ActivationID: ans.Activation.ID, Freed: ans.Freed}
}

// signedRoute answers a request signed by a device key: read the capped
// body, parse it with the signature header, run the use case.
func signedRoute[T any](a *API, parse func(body []byte, sig string) (T, error), do func(context.Context, T) (any, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) (int, any) {
		body, err := readBody(r)
		if err != nil {
			return a.fail(r, err)
		}
		req, err := parse(body, r.Header.Get(SignatureHeader))
		if err != nil {
			return a.fail(r, invalid(err))
		}
		out, err := do(r.Context(), req)
		if err != nil {
			return a.fail(r, err)
		}
		return http.StatusOK, out
	}
}

func (a *API) check(ctx context.Context, req server.CheckRequest) (any, error) {
	g, err := a.cfg.Service.Check(ctx, req)
	return wire.TokenAnswer{Token: g.Token}, err
}

func (a *API) deactivate(ctx context.Context, req server.CheckRequest) (any, error) {
	return struct{}{}, a.cfg.Service.Deactivate(ctx, req.Signed)
}

func (a *API) deviceLicense(ctx context.Context, req server.DeviceLicenseRequest) (any, error) {
	lic, err := a.cfg.Service.DeviceLicense(ctx, req)
	return wire.LicenseAnswer{License: lic}, err
}

func (a *API) lease(ctx context.Context, req server.LeaseRequest) (any, error) {
	g, err := a.cfg.Service.TakeLease(ctx, req)
	if err != nil {
		return nil, err
	}
	return wire.LeaseAnswer{LeaseID: g.Lease.ID, Secret: g.Secret, EndsAt: g.Lease.EndsAt, TTLSeconds: int(g.TTL / time.Second),
		HeartbeatSeconds: int(g.Heartbeat / time.Second), BorrowedUntil: g.Lease.BorrowedUntil, License: g.License}, nil
}

// heartbeat renews a lease: no body (one is ignored), the secret in its
// header. It is the hot route: nothing but the secret is parsed.
func (a *API) heartbeat(w http.ResponseWriter, r *http.Request) (int, any) {
	until, err := a.cfg.Service.Heartbeat(r.Context(), r.PathValue("id"), r.Header.Get(wire.LeaseSecretHeader))
	if err != nil {
		return a.fail(r, err)
	}
	return http.StatusOK, wire.HeartbeatAnswer{EndsAt: until}
}

func (a *API) leaseReturn(w http.ResponseWriter, r *http.Request) (int, any) {
	if err := a.cfg.Service.ReturnLease(r.Context(), r.PathValue("id"), r.Header.Get(wire.LeaseSecretHeader)); err != nil {
		return a.fail(r, err)
	}
	return http.StatusOK, struct{}{}
}

func (a *API) keys(w http.ResponseWriter, r *http.Request) (int, any) {
	out := wire.KeysAnswer{Keys: []wire.Key{}}
	if a.cfg.Keys != nil {
		for _, k := range a.cfg.Keys.Published(a.now()) {
			out.Keys = append(out.Keys, wire.Key{Kid: k.Kid, PublicKey: k.PublicKey, NotAfter: k.NotAfter,
				Endorsement: k.Endorsement, Current: k.Current})
		}
	}
	return http.StatusOK, out
}

// ManifestMaxAge is how long a client or a cache may keep a manifest
// without asking again: a new release reaches desktops within it.
const ManifestMaxAge = 5 * time.Minute

// manifest answers the signed update manifest of the app, a compact JWS
// (application/jose). It is public and signed, so shared caches may keep
// it for ManifestMaxAge; Ed25519 signatures are deterministic, so the same
// release signed by the same key is the same document, which its ETag
// names (a conditional GET gets 304).
func (a *API) manifest(w http.ResponseWriter, r *http.Request) (int, any) {
	if a.cfg.Manifests == nil {
		return http.StatusNotFound, ErrorBody{Error: ErrorDetail{Kind: errs.NotExist.Name(), Message: "this server publishes no update manifests"}}
	}
	signed, err := a.cfg.Manifests.Manifest(r.PathValue("app"))
	if err != nil {
		return a.fail(r, err)
	}
	sum := sha256.Sum256([]byte(signed))
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(ManifestMaxAge/time.Second)))
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (strings.Contains(inm, etag) || strings.TrimSpace(inm) == "*") {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified, written{}
	}
	h.Set("Content-Type", mwire.ManifestContentType)
	h.Set("Content-Length", strconv.Itoa(len(signed)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, signed)
	return http.StatusOK, written{}
}

func (a *API) ready(w http.ResponseWriter, r *http.Request) (int, any) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.cfg.Service.Ready(ctx); err != nil {
		a.log.WarnContext(r.Context(), "not ready", "err", err.Error())
		return http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Kind: errs.Unavailable.Name(), Message: "database unreachable"}}
	}
	return http.StatusOK, map[string]string{"status": "ready"}
}
