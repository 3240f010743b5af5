package licensing_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

func TestActivateThenStatus(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("status before activation: %v", err)
	}
	if _, err := m.Activate(ctx, "PL bad"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := m.Activate(ctx, v.codeIn(t, sandbox.StateExpired)); !errs.Is(err, errs.Expired) {
		t.Fatalf("expired code: %v", err)
	}
	if _, err := m.Activate(ctx, "PLDOESNOTEXIST"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	st, err := m.Activate(ctx, " "+v.code+" ")
	if err != nil || !st.Verdict.Valid() || st.Storage != "keyring" || st.Source != licensing.SourceOnline ||
		st.Record.License != v.code || st.Record.Server != v.URL || st.Record.ActivationID == "" ||
		st.Record.Status != licensing.StatusAlive || st.Record.ExpireTime.IsZero() || !st.Record.LastCheckedAt.Equal(t0) {
		t.Fatalf("activate: %+v %v", st, err)
	}
	if c, err := activation.Verify(st.Record.Token, activation.Pinned(v.Public), t0); err != nil || c.Fingerprint != fp.String() {
		t.Fatalf("the cached token: %+v %v", c, err)
	}

	c.Add(time.Hour)
	st, err = m.Status(ctx, true)
	if err != nil || st.Source != licensing.SourceOnline || !st.Verdict.Valid() || !st.Record.LastCheckedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("online status: %+v %v", st, err)
	}
	if st, err := m.Status(ctx, false); err != nil || st.Source != licensing.SourceCache || !st.Verdict.Valid() {
		t.Fatalf("offline status: %+v %v", st, err)
	}

	// Offline for 3 days: the token covers it.
	v.hook.set(true, nil)
	c.Add(3 * 24 * time.Hour)
	st, err = m.Status(ctx, true)
	if err != nil || st.Source != licensing.SourceCache || !st.Verdict.Valid() || st.OnlineErr == nil {
		t.Fatalf("offline within grace: %+v %v", st, err)
	}
	// Offline past the token's check_by: not covered, the server to blame.
	c.Add(5 * 24 * time.Hour)
	st, _ = m.Status(ctx, true)
	if !errs.Is(st.Verdict.Err, errs.Unavailable) {
		t.Fatalf("offline past grace: %v", st.Verdict.Err)
	}
	st, _ = m.Status(ctx, false)
	if !errs.Is(st.Verdict.Err, errs.GraceExpired) {
		t.Fatalf("--offline past grace: %v", st.Verdict.Err)
	}
	// Back online: a fresh token, valid again.
	v.hook.set(false, nil)
	st, _ = m.Status(ctx, true)
	if !st.Verdict.Valid() || !st.Record.CheckBy.After(c.Now()) {
		t.Fatalf("back online: %v, check_by %v", st.Verdict.Err, st.Record.CheckBy)
	}
}

// Without a server or a pinned vendor key nothing is sent.
func TestActivateNeedsServerAndKey(t *testing.T) {
	ctx := context.Background()
	m, v, _ := newService(t)
	connected := false
	connect := m.Connect
	m.Connect = func(ctx context.Context, url string) (licensing.Server, error) {
		connected = true
		return connect(ctx, url)
	}
	set := v.settings()
	set.Keys = nil
	m.Settings = fixedSettings(set)
	if _, err := m.Activate(ctx, v.code); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "server_key") {
		t.Fatalf("no key pinned: %v", err)
	}
	if _, err := m.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("status without a key, nothing cached: %v", err)
	}
	set = v.settings()
	set.Server = ""
	m.Settings = fixedSettings(set)
	if _, err := m.Activate(ctx, v.code); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "ISCDESK_SERVER") {
		t.Fatalf("no server: %v", err)
	}
	if connected {
		t.Fatal("the server was asked")
	}
	// A cached activation is not judged without a pinned key either.
	m.Settings = fixedSettings(v.settings())
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	set = v.settings()
	set.Keys = nil
	m.Settings = fixedSettings(set)
	for _, online := range []bool{false, true} {
		if _, err := m.Status(ctx, online); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "server_key") {
			t.Fatalf("status (online %v) without a key: %v", online, err)
		}
	}
}

// A machine whose fingerprint names no unit part (a container seeing no
// network card and no disk serial: only the CPU model) cannot hold an
// activation: it is refused before the server binds a seat.
func TestActivateRefusesFingerprintWithoutUnitPart(t *testing.T) {
	m, v, _ := newService(t)
	m.Fingerprint = func(context.Context) devinfo.Fingerprint {
		return devinfo.Render(devinfo.Components{CPU: "BFEBFBFF000906EA"})
	}
	if _, err := m.Activate(context.Background(), v.code); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("err = %v, want kind WrongMachine", err)
	}
	if info, err := v.Service.CodeInfo(context.Background(), v.code); err == nil && info.Bound() != 0 {
		t.Fatalf("a seat was bound: %+v", info)
	}
}

// A token the pinned key did not sign is not cached, whoever answers.
func TestUntrustedAnswerNotCached(t *testing.T) {
	ctx := context.Background()
	m, v, _ := newService(t)
	other, _, _ := ed25519.GenerateKey(nil)
	set := v.settings()
	set.Keys = activation.Pinned(other)
	m.Settings = fixedSettings(set)
	if _, err := m.Activate(ctx, v.code); !errs.Is(err, errs.Tampered) || !strings.Contains(err.Error(), "server_key") {
		t.Fatalf("activate with another key pinned: %v", err)
	}
	if _, err := m.Store.Load(ctx); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("cached: %v", err)
	}
}

// Seats (issue 12, acceptance): a code of 2 seats binds 2 machines and
// refuses a third, naming both holders; one deactivation frees a seat for
// it. Activating again never takes a second seat, and a machine with one
// part replaced keeps its own.
func TestSeats(t *testing.T) {
	ctx := context.Background()
	v := newVendor(t)
	code := v.Code(t, 2)
	machines := make([]*licensing.Service, 3)
	for i, host := range []string{"host-a", "host-b", "host-c"} {
		fp := devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:0" + string(rune('1'+i))}, Disk: []string{"DISK-" + host}, Board: "BOARD-" + host, CPU: "CPU"})
		machines[i] = v.device(store.NewKeyringStore(&secret.Memory{}, machine), fp, host, v.clock.Now)
	}
	a, b, c := machines[0], machines[1], machines[2]
	first, err := a.Activate(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Activate(ctx, code); err != nil {
		t.Fatal(err)
	}
	_, err = c.Activate(ctx, code)
	var r *licensing.Refusal
	if !errs.Is(err, errs.NotActivated) || !errors.As(err, &r) || r.Reason != "seats_full" ||
		!strings.Contains(err.Error(), "host-a") || !strings.Contains(err.Error(), "host-b") || !strings.Contains(err.Error(), "iscdesk deactivate") {
		t.Fatalf("third machine: %v", err)
	}
	// Again, twice, and after forgetting its key: never a second seat.
	for range 2 {
		again, err := a.Activate(ctx, code)
		if err != nil || again.Record.ActivationID != first.Record.ActivationID {
			t.Fatalf("activating again: %+v %v", again.Record, err)
		}
	}
	if err := a.Forget(ctx); err != nil {
		t.Fatal(err)
	}
	moved, err := a.Activate(ctx, code)
	if err != nil {
		t.Fatalf("activating again with a new device key: %v", err)
	}
	if info, err := v.Service.CodeInfo(ctx, code); err != nil || info.Bound() != 2 {
		t.Fatalf("seats bound: %+v %v", info.Bound(), err)
	}
	// One part replaced (a new disk): the same machine, its seat kept.
	repaired := devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"NEWDISK"}, Board: "BOARD-host-a", CPU: "CPU"})
	a.Fingerprint = func(context.Context) devinfo.Fingerprint { return repaired }
	if st, err := a.Status(ctx, true); err != nil || !st.Verdict.Valid() || st.Source != licensing.SourceOnline || st.Record.Fingerprint != repaired.String() {
		t.Fatalf("one part replaced: %+v %v", st, err)
	}
	if again, err := a.Activate(ctx, code); err != nil || again.Record.ActivationID != moved.Record.ActivationID {
		t.Fatalf("one part replaced, activated again: %v", err)
	}
	if _, err := c.Activate(ctx, code); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("third machine after a's repair: %v", err)
	}
	// a frees its seat: c takes it; a has nothing cached any more.
	if _, err := a.Deactivate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("a after deactivating: %v", err)
	}
	if _, err := c.Activate(ctx, code); err != nil {
		t.Fatalf("third machine after a deactivated: %v", err)
	}
	if info, _ := v.Service.CodeInfo(ctx, code); info.Bound() != 2 {
		t.Fatalf("seats bound: %d", info.Bound())
	}
}

// Support revokes an activation: the machine learns it at its next check,
// with the server's reason.
func TestRevokedAtTheNextCheck(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	st, err := m.Activate(ctx, v.code)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Service.Revoke(ctx, st.Record.ActivationID, "refunded by phone"); err != nil {
		t.Fatal(err)
	}
	if st, err := m.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("offline, before the next check: %v %v", err, st.Verdict.Err)
	}
	c.Add(time.Hour)
	st, err = m.Status(ctx, true)
	if err != nil || !errs.Is(st.Verdict.Err, errs.NotActivated) || !strings.Contains(st.Verdict.Reason(), "revoked") ||
		!strings.Contains(st.Verdict.Reason(), "refunded by phone") || st.Source != licensing.SourceOnline {
		t.Fatalf("the next check: %+v %v", st.Verdict, err)
	}
	st, err = m.Status(ctx, false)
	if err != nil || !errs.Is(st.Verdict.Err, errs.NotActivated) || !strings.Contains(st.Verdict.Reason(), "revoked") {
		t.Fatalf("offline after it: %v %v", err, st.Verdict.Err)
	}
}

func TestReleasedTakesEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	if err := v.Sandbox.SetStatus(v.code, licensing.StatusReleased); err != nil {
		t.Fatal(err)
	}
	c.Add(25 * time.Hour)
	done := make(chan error, 1)
	st, err := m.Check(ctx, done)
	if err != nil || !st.Verdict.Valid() {
		t.Fatalf("the start before the daily check ran is valid: %v %v", err, st.Verdict.Err)
	}
	if err := <-done; err != nil {
		t.Fatalf("daily check: %v", err)
	}
	st, _ = m.Status(ctx, false)
	if !errs.Is(st.Verdict.Err, errs.Released) {
		t.Fatalf("after the daily check: %v", st.Verdict.Err)
	}
}

func TestDailyCheckOncePerDayAndNeverBlocks(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	checks := 0
	v.hook.set(false, func() { checks++ })
	done := make(chan error, 1)
	if _, err := m.Check(ctx, done); err != nil {
		t.Fatal(err)
	}
	<-done
	if checks != 0 {
		t.Fatalf("checked again on the activation day: %d checks", checks)
	}
	v.hook.set(true, func() { checks++ })
	c.Add(24 * time.Hour)
	st, err := m.Check(ctx, done)
	if err != nil || !st.Verdict.Valid() {
		t.Fatalf("offline start inside grace: %v %v", err, st.Verdict.Err)
	}
	if err := <-done; err != nil || checks != 1 {
		t.Fatalf("the daily check's failure is logged, not returned: %v (%d checks)", err, checks)
	}
}

func TestClockSetBackAfterUse(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	c.Add(3 * time.Hour)
	if st, _ := m.Status(ctx, false); !st.Verdict.Valid() {
		t.Fatal(st.Verdict.Err)
	}
	c.Add(-2 * time.Hour)
	if st, _ := m.Status(ctx, false); !errs.Is(st.Verdict.Err, errs.ClockRollback) {
		t.Fatalf("clock set back: %v", st.Verdict.Err)
	}
}

// Forget removes the activation here only: the seat stays taken.
func TestForget(t *testing.T) {
	ctx := context.Background()
	m, v, _ := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	if err := m.Forget(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("after forget: %v", err)
	}
	other := v.device(store.NewKeyringStore(&secret.Memory{}, machine),
		devinfo.Render(devinfo.Components{MAC: []string{"0A:00:00:00:00:09"}, Disk: []string{"OTHER"}, CPU: "C1"}), "host-b", v.clock.Now)
	if _, err := other.Activate(ctx, v.code); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("another machine after forget: %v", err)
	}
}

// The seat is not freed while the server cannot be reached, and the
// activation stays.
func TestDeactivateUnreachable(t *testing.T) {
	ctx := context.Background()
	m, v, _ := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	v.hook.set(true, nil)
	if _, err := m.Deactivate(ctx); !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "forget") {
		t.Fatalf("deactivate offline: %v", err)
	}
	if st, err := m.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("after a failed deactivation: %v %v", err, st.Verdict.Err)
	}
	v.hook.set(false, nil)
	if _, err := m.Deactivate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Deactivate(ctx); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("deactivate with nothing cached: %v", err)
	}
}

// Device licenses come from the server, signed by the vendor key.
func TestDeviceLicense(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.DeviceLicense(ctx, licensing.DeviceLicenseRequest{DevInfo: fp.String()}); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("before activation: %v", err)
	}
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	lic, err := m.DeviceLicense(ctx, licensing.DeviceLicenseRequest{DevInfo: fp.String(), NotAfter: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := token.Verify(lic, v.Public, c.Now())
	if err != nil || claims.License != v.code || claims.DevInfo != fp.String() || claims.Expires != c.Now().Add(time.Hour).Unix() {
		t.Fatalf("device license %+v %v", claims, err)
	}
}

// The service reads its settings for every flow: a change (the window's
// Settings screen) applies to the next call of the same service.
func TestSettingsReadPerCall(t *testing.T) {
	ctx := context.Background()
	s, v, c := newService(t)
	var mu sync.Mutex
	set := v.settings()
	set.Server = ""
	s.Settings = func() (licensing.Settings, error) { mu.Lock(); defer mu.Unlock(); return set, nil }
	var asked []string
	connect := s.Connect
	s.Connect = func(ctx context.Context, url string) (licensing.Server, error) {
		mu.Lock()
		asked = append(asked, url)
		mu.Unlock()
		return connect(ctx, url)
	}
	if _, err := s.ActivateAt(ctx, v.URL, v.code); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.ServerURL(ctx); u != v.URL {
		t.Errorf("server of the record: %q", u)
	}
	if _, err := s.Status(ctx, true); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	set.Server = "http://127.0.0.1:9"
	mu.Unlock()
	if u, _ := s.ServerURL(ctx); u != "http://127.0.0.1:9" {
		t.Errorf("configured server: %q", u)
	}
	if st, err := s.Status(ctx, true); err != nil || st.OnlineErr == nil {
		t.Fatalf("status with the configured server unreachable: %+v %v", st, err)
	}
	if len(asked) != 3 || asked[0] != v.URL || asked[1] != v.URL || asked[2] != "http://127.0.0.1:9" {
		t.Errorf("asked %q", asked)
	}

	c.Add(3 * 24 * time.Hour)
	if st, _ := s.Status(ctx, false); !st.Verdict.Valid() {
		t.Fatalf("within the token's grace: %v", st.Verdict.Err)
	}
	mu.Lock()
	set.Grace = 2 * 24 * time.Hour
	mu.Unlock()
	if st, _ := s.Status(ctx, false); !errs.Is(st.Verdict.Err, errs.GraceExpired) {
		t.Fatalf("grace shortened to 2 days: %v", st.Verdict.Err)
	}
	mu.Lock()
	broken := errs.E("config", errs.Invalid, errors.New("bad file"))
	s.Settings = func() (licensing.Settings, error) { return licensing.Settings{}, broken }
	mu.Unlock()
	if _, err := s.Status(ctx, false); !errs.Is(err, errs.Invalid) {
		t.Fatalf("broken settings: %v", err)
	}
}

// The vendor rotates its key: a desktop that pinned the first one follows
// the endorsement the server publishes (the old key vouching for the new),
// at its next check and at a new activation; the token stays verifiable
// offline with the endorsement kept beside it.
func TestKeyRotationFollowsEndorsements(t *testing.T) {
	ctx := context.Background()
	m, v, c := newService(t)
	if _, err := m.Activate(ctx, v.code); err != nil {
		t.Fatal(err)
	}
	next, err := v.Ring.Rotate(c.Now(), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(25 * time.Hour)
	st, err := m.Status(ctx, true)
	if err != nil || !st.Verdict.Valid() || st.Source != licensing.SourceOnline || len(st.Record.Endorsements) != 1 {
		t.Fatalf("the check after the rotation: %+v %v", st, err)
	}
	if _, err := activation.Verify(st.Record.Token, activation.Pinned(next.Key), c.Now()); err != nil {
		t.Fatalf("the fresh token is not the new key's: %v", err)
	}
	if st, err := m.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("offline after the rotation: %v %v", err, st.Verdict.Err)
	}
	other := v.device(store.NewKeyringStore(&secret.Memory{}, machine),
		devinfo.Render(devinfo.Components{MAC: []string{"0A:00:00:00:00:09"}, Disk: []string{"OTHER"}, CPU: "C1"}), "host-b", c.Now)
	if st, err := other.Activate(ctx, v.Code(t, 1)); err != nil || !st.Verdict.Valid() || len(st.Record.Endorsements) != 1 {
		t.Fatalf("a new activation after the rotation: %+v %v", st.Record.Endorsements, err)
	}
	// Without the endorsement the new key's token is not trusted.
	r, _ := m.Store.Load(ctx)
	r.Endorsements = nil
	if err := m.Store.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(ctx, false); !errs.Is(st.Verdict.Err, errs.Tampered) {
		t.Fatalf("the new key's token without its endorsement: %v", st.Verdict.Err)
	}
}
