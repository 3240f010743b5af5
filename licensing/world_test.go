package licensing_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/remote"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/token/activation"
)

// The license service's tests run against the real vendor server
// (vendortest: its API over HTTP, SQLite, the sandbox marketplace), on the
// test's clock, which the server and the sandbox share.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	fp = devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"D1"}, Board: "B1", CPU: "C1"})
)

const grace7 = 7 * 24 * time.Hour

// vendor is a vendor server on the test's clock with one ready code.
type vendor struct {
	*vendortest.Server
	clock *clock
	code  string // a ready code of one seat
	hook  hook
}

// hook lets a test make the server unreachable or act inside a check.
type hook struct {
	mu      sync.Mutex
	down    bool
	onCheck func()
}

func (h *hook) set(down bool, onCheck func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down, h.onCheck = down, onCheck
}

func (h *hook) get() (bool, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down, h.onCheck
}

func newVendor(t *testing.T) *vendor {
	t.Helper()
	c := &clock{t: t0}
	// Every check asks the marketplace, so a release shows at once.
	srv := vendortest.Start(t, vendortest.Options{Now: c.Now, Config: server.Config{QueryInterval: time.Nanosecond}})
	return &vendor{Server: srv, clock: c, code: srv.Code(t, 1)}
}

// codeIn returns a demo code of the sandbox in state.
func (v *vendor) codeIn(t *testing.T, state string) string {
	t.Helper()
	for _, c := range v.Sandbox.Codes() {
		if c.State == state {
			return c.Code
		}
	}
	t.Fatalf("no %s code", state)
	return ""
}

func (v *vendor) settings() licensing.Settings {
	return licensing.Settings{Server: v.URL, Keys: activation.Pinned(v.Public)}
}

// device is a service as a desktop builds it, of the machine fp named host,
// over st.
func (v *vendor) device(st licensing.RecordStore, fp devinfo.Fingerprint, host string, now func() time.Time) *licensing.Service {
	return &licensing.Service{
		Store:    st,
		Settings: fixedSettings(v.settings()),
		Connect: func(_ context.Context, url string) (licensing.Server, error) {
			return hooked{remote.New(url, nil, now), &v.hook}, nil
		},
		Fingerprint: func(context.Context) devinfo.Fingerprint { return fp },
		Host:        func() string { return host },
		App:         "iscdesk", Version: "test",
		Now: now,
	}
}

// newService is one device over the keyring (in memory).
func newService(t *testing.T) (*licensing.Service, *vendor, *clock) {
	v := newVendor(t)
	s := v.device(store.NewKeyringStore(&secret.Memory{}, machine), fp, "host-a", v.clock.Now)
	return s, v, v.clock
}

func machine() (string, error) { return "machine", nil }

// fileService is a service over the encrypted-file store in dir, locked by
// dir/authorization.lock, as a process of this user builds it.
func (v *vendor) fileService(dir string, now func() time.Time) *licensing.Service {
	s := v.device(store.NewFileStore(dir, machine), fp, "host-a", now)
	s.LockFile = filepath.Join(dir, "authorization.lock")
	return s
}

func fixedSettings(set licensing.Settings) func() (licensing.Settings, error) {
	return func() (licensing.Settings, error) { return set, nil }
}

// hooked is a server the hook can take down or hold inside a check.
type hooked struct {
	licensing.Server
	h *hook
}

var errDown = errs.E("server", errs.Unavailable, errors.New("connection refused"))

func (s hooked) Activate(ctx context.Context, req licensing.ActivateRequest) (licensing.Grant, error) {
	if down, _ := s.h.get(); down {
		return licensing.Grant{}, errDown
	}
	return s.Server.Activate(ctx, req)
}

func (s hooked) Check(ctx context.Context, id string, key ed25519.PrivateKey, fp string) (string, error) {
	down, onCheck := s.h.get()
	if onCheck != nil {
		onCheck()
	}
	if down {
		return "", errDown
	}
	return s.Server.Check(ctx, id, key, fp)
}

func (s hooked) Deactivate(ctx context.Context, id string, key ed25519.PrivateKey) error {
	if down, _ := s.h.get(); down {
		return errDown
	}
	return s.Server.Deactivate(ctx, id, key)
}
