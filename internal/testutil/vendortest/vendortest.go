// Package vendortest starts the vendor license server inside a test's
// process for the tests of the desktop: the real server (its domain, its
// HTTP API, its SQLite store in the test's temporary folder) asking a real
// marketplace sandbox, all on loopback. The desktop under test, in the same
// process or a built binary, reaches it through URL and trusts Key, as an
// administrator would configure it (Env).
//
// Only tests import it. It lives apart from package testutil, which
// imports only the standard library, because it pulls in the server.
package vendortest

import (
	"context"
	"crypto/ed25519"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/keys"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
	"github.com/iscdesk/iscdesk/server/upstream"
	"github.com/iscdesk/iscdesk/token"
)

// Options configure Start.
type Options struct {
	// Now is the clock of the server and of the in-process sandbox; nil
	// means time.Now. Tests that move time share it with the desktop.
	Now func() time.Time
	// Config is the server's policy (seats, grace, query interval).
	Config server.Config
	// Marketplace, when its URL is set, is the marketplace the server asks
	// (an `iscdesk sandbox` process); otherwise a sandbox is started in the
	// process (Server.Sandbox).
	Marketplace Marketplace
	// Apps are the releases whose signed update manifests the server
	// publishes (config.json's apps).
	Apps map[string]server.Release
	// NoUploadWorker leaves the queue of asynchronous device licenses to
	// the test (Service.WorkUploads) instead of working it every 100 ms.
	NoUploadWorker bool
}

// Marketplace is a marketplace (sandbox) the server asks, with its AK/SK,
// and the key its callbacks are signed with.
type Marketplace struct {
	URL         string
	AK, SK      string
	CallbackKey string
}

// Server is a running vendor license server.
type Server struct {
	URL string
	// Key is the first vendor public key in the form server_key takes
	// (standard base64), and Public the key itself: what desktops pin.
	Key    string
	Public ed25519.PublicKey
	// Ring holds the vendor keys, a fresh one at start, as iscdesk-server
	// keeps them (Ring.Rotate moves to the next, endorsed by this one).
	Ring    *keys.Ring
	Service *server.Service
	// Sandbox is the in-process sandbox the server asks (nil when
	// Options.Marketplace named another), served at SandboxURL.
	Sandbox    *sandbox.Server
	SandboxURL string
	// CallbackURL is where the marketplace sends its callbacks (the
	// in-process sandbox is pointed there).
	CallbackURL string

	http *httptest.Server
}

// Start starts a server until the test ends.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{}
	mkt := o.Marketplace
	if mkt.URL == "" {
		sb, err := sandbox.New(sandbox.Config{Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		ts := httptest.NewServer(sb.Handler())
		tb.Cleanup(ts.Close)
		cred := sb.Credentials()
		s.Sandbox, s.SandboxURL = sb, ts.URL
		mkt = Marketplace{URL: ts.URL, AK: cred.AK, SK: cred.SK, CallbackKey: sb.CallbackKey()}
		ctx, cancel := context.WithCancel(context.Background())
		tb.Cleanup(cancel)
		go sb.RunCallbacks(ctx)
	}
	client, err := marketplace.New(marketplace.Config{
		Endpoint: mkt.URL, Credentials: aksk.Credentials{AK: mkt.AK, SK: mkt.SK}, Now: now,
		MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(tb.TempDir(), "server.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if s.Ring, err = keys.Create(filepath.Join(tb.TempDir(), "vendor.key"), now()); err != nil {
		tb.Fatal(err)
	}
	s.Public = s.Ring.Current()
	s.Key = token.EncodePublicKey(s.Public)
	s.Service, err = server.New(o.Config, server.Deps{Store: st, Marketplace: upstream.Marketplace{Client: client},
		Signer: s.Ring, Now: now, CallbackKey: mkt.CallbackKey, Uploader: upstream.Uploader{Client: client}})
	if err != nil {
		tb.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Service: s.Service, Keys: s.Ring, Now: now,
		Manifests: server.Manifests{Apps: o.Apps, Signer: s.Ring},
		Limits:    httpapi.Limits{PerAddr: -1, ActivatePerAddr: -1, ActivatePerCode: -1}})
	s.http = httptest.NewServer(api)
	tb.Cleanup(s.http.Close)
	s.URL = s.http.URL
	s.CallbackURL = s.URL + "/v1/marketplace/callbacks"
	if s.Sandbox != nil {
		if err := s.Sandbox.SetVendorURL(s.CallbackURL); err != nil {
			tb.Fatal(err)
		}
	}
	if !o.NoUploadWorker {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		tb.Cleanup(func() { cancel(); <-done })
		go func() {
			defer close(done)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_, _ = s.Service.WorkUploads(ctx)
				}
			}
		}()
	}
	return s
}

// Env is what points a process of iscdesk at the server: its URL and the
// pinned vendor key, as environment variables.
func (s *Server) Env() []string {
	return []string{"ISCDESK_SERVER=" + s.URL, "ISCDESK_SERVER_KEY=" + s.Key}
}

// Code adds a delivered code of amount seats to the in-process sandbox.
func (s *Server) Code(tb testing.TB, amount float64) string {
	tb.Helper()
	return s.AddCode(tb, sandbox.CodeSpec{Amount: amount})
}

// AddCode adds a code to the in-process sandbox.
func (s *Server) AddCode(tb testing.TB, spec sandbox.CodeSpec) string {
	tb.Helper()
	if s.Sandbox == nil {
		tb.Fatal("vendortest: no in-process sandbox")
	}
	code, err := s.Sandbox.AddCode(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return code
}

// Stop makes the server unreachable (connections refused) for the rest of
// the test.
func (s *Server) Stop() { s.http.Close() }

// WithSandboxProcess starts `bin sandbox` (the marketplace sandbox as the
// command line runs it, its state in the test's temporary folder) and a
// server asking it: the whole chain a desktop meets, on loopback.
func WithSandboxProcess(tb testing.TB, bin string, o Options) (*testutil.Sandbox, *Server) {
	tb.Helper()
	sb := testutil.StartSandbox(tb, bin, filepath.Join(tb.TempDir(), "sandbox.json"))
	o.Marketplace = Marketplace{URL: sb.URL, AK: sb.AK, SK: sb.SK, CallbackKey: sb.CallbackKey}
	return sb, Start(tb, o)
}
