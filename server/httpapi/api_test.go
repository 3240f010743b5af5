package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

var ctx = context.Background()

type fixture struct {
	env    *servertest.Env
	url    string
	client *client.Client
	logs   *testutil.LockedBuffer
}

func start(t testing.TB, limits httpapi.Limits) *fixture { return startOn(t, limits, "") }

// startOn is start on the database dbURL ("": a new SQLite file).
func startOn(t testing.TB, limits httpapi.Limits, dbURL string) *fixture {
	return startWith(t, limits, dbURL, server.Config{})
}

// startWith is startOn with the policy cfg.
func startWith(t testing.TB, limits httpapi.Limits, dbURL string, cfg server.Config) *fixture {
	t.Helper()
	env := servertest.New(t, dbURL, cfg)
	logs := &testutil.LockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := httpapi.New(httpapi.Config{
		Service: env.Service, Metrics: httpapi.NewMetrics(env.Service.Stats), Logger: log, Limits: limits,
		Keys: keysOf{env.Key}, Now: env.Clock.Now,
	})
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	return &fixture{env: env, url: ts.URL, client: &client.Client{BaseURL: ts.URL, Now: env.Clock.Now}, logs: logs}
}

type keysOf struct{ k servertest.Key }

func (k keysOf) Published(time.Time) []keysPublic {
	return []keysPublic{{Kid: token.KeyID(k.k.Public()), Key: k.k.Public(), PublicKey: token.EncodePublicKey(k.k.Public()), Current: true}}
}

func activate(f *fixture, d *servertest.Device, code string) (wire.ActivateAnswer, error) {
	r := d.ActivateRequest(code)
	return f.client.Activate(ctx, wire.ActivateRequest{Code: code, Fingerprint: d.Fingerprint, DeviceKey: client.DeviceKeyText(d.Public()),
		Host: d.Host, App: r.App, Version: r.Version, RequestID: r.RequestID})
}

func apiError(t *testing.T, err error, kind errs.Kind, reason string) *client.APIError {
	t.Helper()
	var ae *client.APIError
	if !errs.Is(err, kind) || !errors.As(err, &ae) || ae.Reason != reason {
		t.Fatalf("got %v (kind %v), want kind %v reason %q", err, errs.KindOf(err), kind, reason)
	}
	return ae
}

func TestFlow(t *testing.T) {
	f := start(t, httpapi.Limits{})
	code := f.env.Code(t, 2)
	a, b, c := servertest.NewDevice(1), servertest.NewDevice(2), servertest.NewDevice(3)
	ga, err := activate(f, a, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := activation.Verify(ga.Token, activation.Pinned(f.env.Key.Public()), f.env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	gb, err := activate(f, b, code)
	if err != nil {
		t.Fatal(err)
	}
	_, err = activate(f, c, code)
	ae := apiError(t, err, errs.NotActivated, wire.ReasonSeatsFull)
	if ae.Status != http.StatusConflict || ae.Seats != 2 || len(ae.Holders) != 2 || ae.Holders[0].Host == ae.Holders[1].Host ||
		!strings.HasPrefix(ae.Holders[0].Host, "host-00") || ae.Holders[0].ActivatedAt.IsZero() {
		t.Fatalf("seats full: %+v", ae)
	}
	tok, err := f.client.Check(ctx, ga.ActivationID, a.Key, a.Fingerprint)
	if err != nil || tok == "" {
		t.Fatalf("check: %v", err)
	}
	lic, err := f.client.DeviceLicense(ctx, ga.ActivationID, a.Key, a.Fingerprint, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Verify(lic, f.env.Key.Public(), f.env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Someone who knows only the activation id cannot free the seat.
	if err := f.client.Deactivate(ctx, gb.ActivationID, c.Key); !errs.Is(err, errs.Permission) {
		t.Fatalf("deactivate with another key: %v", err)
	}
	if err := f.client.Deactivate(ctx, gb.ActivationID, b.Key); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.Check(ctx, gb.ActivationID, b.Key, "")
	apiError(t, err, errs.NotActivated, wire.ReasonDeactivated)
	if _, err := activate(f, c, code); err != nil {
		t.Fatalf("third device after a deactivation: %v", err)
	}
	keys, err := f.client.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].PublicKey != token.EncodePublicKey(f.env.Key.Public()) {
		t.Fatalf("keys %+v %v", keys, err)
	}

	// Logs are JSON lines without the license code.
	logs := f.logs.String()
	if strings.Contains(logs, code) || !strings.Contains(logs, `"route":"activate"`) {
		t.Fatalf("logs:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Fatalf("not a JSON log line: %s", line)
		}
	}
}

func post(t *testing.T, url, contentType string, body []byte, sig string) (int, wire.ErrorBody) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if sig != "" {
		req.Header.Set(wire.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb wire.ErrorBody
	raw, _ := io.ReadAll(resp.Body)
	_ = jsonUnmarshal(raw, &eb)
	return resp.StatusCode, eb
}

func TestBadRequests(t *testing.T) {
	f := start(t, httpapi.Limits{})
	for _, tc := range []struct {
		name, path, ct, sig string
		body                []byte
		status              int
		kind                string
	}{
		{"too big", wire.PathActivate, "application/json", "", bytes.Repeat([]byte(" "), wire.MaxBodyBytes+1), 400, "invalid"},
		{"not json", wire.PathActivate, "text/plain", "", []byte(`{}`), 400, "invalid"},
		{"array", wire.PathActivate, "application/json", "", []byte(`[]`), 400, "invalid"},
		{"bad code", wire.PathActivate, "application/json", "", []byte(`{"code":"x y"}`), 400, "invalid"},
		{"unsigned check", wire.PathCheck, "application/json", "", []byte(`{"activation_id":"a","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef"}`), 400, "invalid"},
		{"unknown activation", wire.PathCheck, "application/json", "AAAA", []byte(`{"activation_id":"act_x","time":"2026-03-02T09:00:00Z","nonce":"0123456789abcdef"}`), 409, "not_activated"},
		{"no route", "/v2/x", "application/json", "", []byte(`{}`), 404, "not_exist"},
	} {
		status, eb := post(t, f.url+tc.path, tc.ct, tc.body, tc.sig)
		if status != tc.status || eb.Error.Kind != tc.kind {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, status, eb, tc.status, tc.kind)
		}
	}
}

func TestRateLimits(t *testing.T) {
	f := start(t, httpapi.Limits{ActivatePerCode: 1, ActivatePerCodeBurst: 2, ActivatePerAddr: 600, ActivatePerAddrBurst: 100})
	code := f.env.Code(t, 10)
	for i := range 2 {
		if _, err := activate(f, servertest.NewDevice(i), code); err != nil {
			t.Fatal(err)
		}
	}
	_, err := activate(f, servertest.NewDevice(3), code)
	apiError(t, err, errs.Busy, wire.ReasonRateLimited)
	// Another code is not limited by this one.
	if _, err := activate(f, servertest.NewDevice(4), f.env.Code(t, 1)); err != nil {
		t.Fatal(err)
	}

	g := start(t, httpapi.Limits{PerAddr: 1, PerAddrBurst: 3})
	n429 := 0
	for range 6 {
		if _, err := g.client.Keys(ctx); errs.Is(err, errs.Busy) {
			n429++
		}
	}
	if n429 < 2 {
		t.Fatalf("%d of 6 requests limited with a burst of 3", n429)
	}
}

func TestOperations(t *testing.T) {
	f := start(t, httpapi.Limits{})
	if _, err := activate(f, servertest.NewDevice(1), f.env.Code(t, 3)); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/healthz": `"ok"`,
		"/readyz":  `"ready"`,
		"/metrics": `iscdesk_server_requests_total{code="200",route="activate"} 1`,
	} {
		resp, err := http.Get(f.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
		}
		if path == "/metrics" {
			for _, m := range []string{"iscdesk_server_seats_bound 1", "iscdesk_server_seats_free 2",
				"iscdesk_server_request_duration_seconds_bucket", "process_resident_memory_bytes"} {
				if !strings.Contains(string(body), m) {
					t.Errorf("metrics lack %s", m)
				}
			}
		}
	}
	f.env.Store.Close()
	resp, err := http.Get(f.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d", resp.StatusCode)
	}
}

// SIGTERM's path: Serve stops accepting and lets the request in flight
// finish.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- httpapi.Serve(sctx, ln, h, "", "", slog.New(slog.DiscardHandler)) }()
	var wg sync.WaitGroup
	var body string
	wg.Go(func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	})
	<-entered
	stop()
	time.Sleep(50 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown began")
	}
	close(release)
	wg.Wait()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if body != "finished" {
		t.Fatalf("request in flight got %q", body)
	}
}

func TestReasonsMatchTheWire(t *testing.T) {
	for a, b := range map[string]string{
		server.ReasonSeatsFull: wire.ReasonSeatsFull, server.ReasonDeactivated: wire.ReasonDeactivated,
		server.ReasonRevoked: wire.ReasonRevoked, server.ReasonMoved: wire.ReasonMoved, server.ReasonReleased: wire.ReasonReleased,
		server.ReasonExpired: wire.ReasonExpired, server.ReasonWrongMachine: wire.ReasonWrongMachine,
	} {
		if a != b {
			t.Errorf("server reason %q, wire %q", a, b)
		}
	}
}
