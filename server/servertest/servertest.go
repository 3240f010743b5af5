// Package servertest builds a vendor license server's domain for tests: a
// server.Service on a real store (SQLite in a temporary folder, or the
// PostgreSQL URL given), the real marketplace client talking to the
// in-process sandbox marketplace over loopback, a clock the test moves, and
// fake devices (fingerprint and Ed25519 key) that sign their requests. Like
// httptest, it is imported by tests only.
package servertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
	"github.com/iscdesk/iscdesk/server/upstream"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Key is a fixed vendor key (a server.Signer).
type Key struct{ Priv ed25519.PrivateKey }

// SigningKey implements server.Signer.
func (k Key) SigningKey() ed25519.PrivateKey { return k.Priv }

// Public is its public half.
func (k Key) Public() ed25519.PublicKey { return k.Priv.Public().(ed25519.PublicKey) }

// Env is a service on a real store and the sandbox marketplace.
type Env struct {
	Service  *server.Service
	Store    *sqlstore.Store
	Sandbox  *sandbox.Server
	Endpoint string // the sandbox's URL
	Clock    *Clock
	Key      Key
	// Upstream counts marketplace calls by operation.
	Upstream *Counter
	// DBURL is the store's database.
	DBURL string
	// Receiver is the upload API the services deliver async device
	// licenses to (UploadURL).
	Receiver  *Receiver
	UploadURL string
	cfg       server.Config
	mkt       server.Marketplace
	uploader  server.Uploader
}

// CallbackKey is the marketplace's callback key every Env's services
// verify callbacks with.
const CallbackKey = "servertest-callback-key"

// Deps are the dependencies of another service on the Env's database (a
// replica): its own store, the Env's marketplace, key, clock, callback key
// and uploader. Tests change them (e.g. no Uploader: a process that dies
// before it delivers).
func (e *Env) Deps(tb testing.TB) server.Deps {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), e.DBURL, sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return server.Deps{Store: st, Marketplace: e.mkt, Signer: e.Key, Now: e.Clock.Now, CallbackKey: CallbackKey, Uploader: e.uploader}
}

// ServiceWith builds a service on deps with the Env's config (cfg changed
// by edit, when not nil).
func (e *Env) ServiceWith(tb testing.TB, d server.Deps, edit func(*server.Config)) *server.Service {
	tb.Helper()
	cfg := e.cfg
	if edit != nil {
		edit(&cfg)
	}
	svc, err := server.New(cfg, d)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// Counter counts calls by name.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

// Add counts one call.
func (c *Counter) Add(name string) { c.mu.Lock(); c.n[name]++; c.mu.Unlock() }

// Get returns the count.
func (c *Counter) Get(name string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[name] }

// Start is the default start time of an Env's clock.
var Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// New builds an Env. dbURL "" is a fresh SQLite file in the test's temporary
// folder.
func New(tb testing.TB, dbURL string, cfg server.Config) *Env {
	tb.Helper()
	clock := NewClock(Start)
	sb, err := sandbox.New(sandbox.Config{Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	tb.Cleanup(ts.Close)
	client, err := marketplace.New(marketplace.Config{
		Endpoint: ts.URL, Credentials: sb.Credentials(), Now: clock.Now, MaxAttempts: 2,
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(tb.TempDir(), "server.db")
	}
	st, err := sqlstore.Open(context.Background(), dbURL, sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	counter := &Counter{n: map[string]int{}}
	mkt := upstream.Marketplace{Client: client, Observe: func(op string, _ time.Duration, _ error) { counter.Add(op) }}
	key := Key{Priv: ed25519.NewKeyFromSeed(seed("vendor"))}
	// The upload API: a receiver checking the sandbox's AK/SK, reached
	// by a client like the license API's.
	rcv := &Receiver{Cred: sb.Credentials(), Now: clock.Now}
	mux := http.NewServeMux()
	mux.Handle("POST "+callback.UploadPattern, rcv)
	uts := httptest.NewServer(mux)
	tb.Cleanup(uts.Close)
	upClient, err := marketplace.New(marketplace.Config{Endpoint: uts.URL, Credentials: sb.Credentials(), Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	uploader := upstream.Uploader{Client: upClient, Observe: func(op string, _ time.Duration, _ error) { counter.Add(op) }}
	svc, err := server.New(cfg, server.Deps{Store: st, Marketplace: mkt, Signer: key, Now: clock.Now,
		CallbackKey: CallbackKey, Uploader: uploader})
	if err != nil {
		tb.Fatal(err)
	}
	return &Env{Service: svc, Store: st, Sandbox: sb, Endpoint: ts.URL, Clock: clock, Key: key, Upstream: counter,
		DBURL: dbURL, Receiver: rcv, UploadURL: uts.URL, cfg: cfg, mkt: mkt, uploader: uploader}
}

// Replica is a second service on the same database (its own connection
// pool), marketplace, key and clock: another server process, as far as the
// database can tell.
func (e *Env) Replica(tb testing.TB) *server.Service {
	tb.Helper()
	return e.ServiceWith(tb, e.Deps(tb), nil)
}

// Code adds a delivered code of amount seats to the sandbox.
func (e *Env) Code(tb testing.TB, amount float64) string {
	tb.Helper()
	code, err := e.Sandbox.AddCode(sandbox.CodeSpec{Amount: amount})
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

// ActivateMany activates n fresh devices (NewDevice(0…n-1)) on code, one
// after the other, and returns them with their activation ids.
func (e *Env) ActivateMany(tb testing.TB, code string, n int) ([]*Device, []string) {
	tb.Helper()
	devices, ids := make([]*Device, n), make([]string, n)
	for i := range devices {
		devices[i] = NewDevice(i)
		g, err := e.Service.Activate(context.Background(), devices[i].ActivateRequest(code))
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = g.Activation.ID
	}
	return devices, ids
}

func seed(s string) []byte {
	b := make([]byte, ed25519.SeedSize)
	copy(b, s)
	return b
}

// Device is a fake machine: a fingerprint, a host name and a device key.
type Device struct {
	Host        string
	Fingerprint string
	Key         ed25519.PrivateKey
}

// NewDevice returns the i-th fake machine: every part differs from any other
// i's, and its key is fresh.
func NewDevice(i int) *Device {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return &Device{
		Host:        fmt.Sprintf("host-%03d", i),
		Fingerprint: fmt.Sprintf("02:00:00:%02X:%02X:%02X|DISK%06d|BOARD%06d|CPU%06d", i>>16&0xff, i>>8&0xff, i&0xff, i, i, i),
		Key:         priv,
	}
}

// Public is the device's public key.
func (d *Device) Public() ed25519.PublicKey { return d.Key.Public().(ed25519.PublicKey) }

// ActivateRequest asks for a seat of code with a fresh request id.
func (d *Device) ActivateRequest(code string) server.ActivateRequest {
	return server.ActivateRequest{
		Code: code, Fingerprint: d.Fingerprint, DeviceKey: d.Public(), Host: d.Host,
		App: "demo", Version: "1.0.0", RequestID: Nonce(),
	}
}

// Signed signs a request about activation id at now with a fresh nonce (the
// domain does not read the body; the HTTP API's body format is httpapi's).
func (d *Device) Signed(id string, now time.Time) server.Signed {
	nonce := Nonce()
	body := []byte(fmt.Sprintf(`{"activation_id":%q,"time":%q,"nonce":%q}`, id, now.UTC().Format(time.RFC3339), nonce))
	return server.Signed{ActivationID: id, Time: now, Nonce: nonce, Body: body, Signature: ed25519.Sign(d.Key, body)}
}

var nonces atomic.Int64

// Nonce is a unique random string of 32 hex digits.
func Nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	nonces.Add(1)
	return hex.EncodeToString(b)
}

// CallbackRequest is a callback of body (a value encoded as JSON, or
// []byte as is) signed with CallbackKey at the Env's clock with a fresh
// nonce, as the marketplace sends it to the server's one URL.
func (e *Env) CallbackRequest(tb testing.TB, body any) server.CallbackRequest {
	tb.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			tb.Fatal(err)
		}
	}
	signed, err := callback.SignURL("https://vendor.example/cb", CallbackKey, raw, e.Clock.Now(), callback.NewNonce())
	if err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(signed)
	return server.CallbackRequest{Query: u.Query(), Body: raw}
}
