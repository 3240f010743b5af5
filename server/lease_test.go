package server_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

var floating = server.Config{Default: server.Product{LicenseModel: server.ModelFloating}, LeaseTTL: 10 * time.Minute, HeartbeatInterval: 2 * time.Minute}

// floatingEnv is a floating code of amount leases activated on n devices.
func floatingEnv(t *testing.T, cfg server.Config, amount float64, n int) (*servertest.Env, string, []*servertest.Device, []string) {
	t.Helper()
	e := servertest.New(t, "", cfg)
	code := e.Code(t, amount)
	devices, ids := e.ActivateMany(t, code, n)
	return e, code, devices, ids
}

func take(t *testing.T, e *servertest.Env, d *servertest.Device, id string) server.LeaseGrant {
	t.Helper()
	g, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d.Signed(id, e.Clock.Now()), RequestID: servertest.Nonce(), App: "cad"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The acceptance scenario on the domain: three devices activate a 2-seat
// floating code (activations bind no seat), two take leases, the third is
// told who holds them and when the earliest ends, and gets one when a lease
// is returned or lapses.
func TestFloatingPool(t *testing.T) {
	e, _, d, ids := floatingEnv(t, floating, 2, 3)
	a := take(t, e, d[0], ids[0])
	if a.TTL != 10*time.Minute || a.Heartbeat != 2*time.Minute || !a.Lease.EndsAt.Equal(e.Clock.Now().Add(10*time.Minute)) ||
		len(a.Secret) != server.LeaseSecretLen || a.License != "" {
		t.Fatalf("grant %+v", a)
	}
	e.Clock.Advance(time.Minute)
	b := take(t, e, d[1], ids[1])

	_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[2].Signed(ids[2], e.Clock.Now()), RequestID: servertest.Nonce()})
	r := refusal(t, err, errs.NotActivated, server.ReasonPoolFull)
	if r.Seats != 2 || len(r.Holders) != 2 || r.Holders[0].Host != "host-000" || r.Holders[1].Host != "host-001" ||
		!r.EarliestEnd.Equal(a.Lease.EndsAt) || !r.Holders[0].Until.Equal(a.Lease.EndsAt) || !r.Holders[1].ActivatedAt.Equal(b.Lease.CreatedAt) ||
		!strings.Contains(r.Message, "host-000") || !strings.Contains(r.Message, "earliest") {
		t.Fatalf("refusal %+v", r)
	}

	// A renews; B does not, and lapses at its TTL: its seat is free at once,
	// before the reaper marks it.
	e.Clock.Advance(8 * time.Minute)
	until, err := e.Service.Heartbeat(ctx, a.Lease.ID, a.Secret)
	if err != nil || !until.Equal(e.Clock.Now().Add(10*time.Minute).Truncate(time.Second)) {
		t.Fatalf("heartbeat: %v %v", until, err)
	}
	e.Clock.Advance(3 * time.Minute) // B's end is past
	c := take(t, e, d[2], ids[2])
	if _, err := e.Service.Heartbeat(ctx, b.Lease.ID, b.Secret); err == nil {
		t.Fatal("heartbeat of a lapsed lease accepted")
	} else {
		refusal(t, err, errs.NotActivated, server.ReasonLeaseEnded)
	}
	if n, err := e.Service.ReapLeases(ctx); err != nil || n != 1 {
		t.Fatalf("reaped %d, %v", n, err)
	}
	if l, _ := e.Store.Lease(ctx, b.Lease.ID); l.State != server.LeaseExpired || !l.EndedAt.Equal(b.Lease.EndsAt) {
		t.Fatalf("reaped lease %+v", l)
	}

	// A returns (twice: idempotent); the seat goes to whoever asks.
	if err := e.Service.ReturnLease(ctx, a.Lease.ID, a.Secret); err != nil {
		t.Fatal(err)
	}
	if err := e.Service.ReturnLease(ctx, a.Lease.ID, a.Secret); err != nil {
		t.Fatal(err)
	}
	refusal(t, heartbeatErr(e, a), errs.NotActivated, server.ReasonLeaseEnded)
	b2 := take(t, e, d[1], ids[1])
	// Support's view: the pool, the leases held, the activations (all
	// three, binding no seat).
	view, err := e.Service.CodeInfo(ctx, c.Lease.CodeHash)
	if err != nil || !view.Floating || view.Seats != 2 || view.Bound() != 2 || len(view.Leases) != 2 || len(view.Activations) != 3 {
		t.Fatalf("code info %+v %v", view, err)
	}
	if st, err := e.Service.Stats(ctx); err != nil || st.Bound != 2 || st.Free != 0 || st.Codes != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	held, err := e.Service.CodeLeases(ctx, c.Lease.CodeHash)
	// Both end at the same second: the order among them is the ids'.
	if err != nil || len(held) != 2 || held[0].ID+held[1].ID != c.Lease.ID+b2.Lease.ID && held[0].ID+held[1].ID != b2.Lease.ID+c.Lease.ID {
		t.Fatalf("held %+v %v", held, err)
	}
}

func heartbeatErr(e *servertest.Env, g server.LeaseGrant) error {
	_, err := e.Service.Heartbeat(ctx, g.Lease.ID, g.Secret)
	return err
}

// A retried take (same request id) gets the same lease and a new secret,
// never a second seat; the old secret stops working.
func TestLeaseRetry(t *testing.T) {
	e, _, d, ids := floatingEnv(t, floating, 1, 1)
	req := server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce()}
	first, err := e.Service.TakeLease(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.Signed = d[0].Signed(ids[0], e.Clock.Now())
	again, err := e.Service.TakeLease(ctx, req)
	if err != nil || again.Lease.ID != first.Lease.ID || again.Secret == first.Secret {
		t.Fatalf("retry: %v %+v", err, again)
	}
	if !errs.Is(heartbeatErr(e, first), errs.Permission) {
		t.Fatalf("old secret: %v", heartbeatErr(e, first))
	}
	if err := heartbeatErr(e, again); err != nil {
		t.Fatal(err)
	}
	// The signed take is replay-protected like every signed request.
	if _, err := e.Service.TakeLease(ctx, req); !errs.Is(err, errs.Permission) {
		t.Fatalf("replayed take: %v", err)
	}
}

// Bad input and wrong credentials are refused with the published kinds and
// change nothing.
func TestLeaseRefusals(t *testing.T) {
	e, code, d, ids := floatingEnv(t, floating, 1, 2)
	g := take(t, e, d[0], ids[0])
	wrong := strings.Repeat("A", server.LeaseSecretLen)
	for name, c := range map[string]struct {
		err  error
		kind errs.Kind
	}{
		"wrong secret":         {func() error { _, err := e.Service.Heartbeat(ctx, g.Lease.ID, wrong); return err }(), errs.Permission},
		"short secret":         {func() error { _, err := e.Service.Heartbeat(ctx, g.Lease.ID, "x"); return err }(), errs.Invalid},
		"no such lease":        {func() error { _, err := e.Service.Heartbeat(ctx, "lease_nope", g.Secret); return err }(), errs.NotExist},
		"control in id":        {func() error { _, err := e.Service.Heartbeat(ctx, "a\nb", g.Secret); return err }(), errs.Invalid},
		"return, wrong secret": {e.Service.ReturnLease(ctx, g.Lease.ID, wrong), errs.Permission},
		"another device's signature": {func() error {
			s := d[1].Signed(ids[0], e.Clock.Now())
			_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: s, RequestID: servertest.Nonce()})
			return err
		}(), errs.Permission},
		"short request id": {func() error {
			_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[1].Signed(ids[1], e.Clock.Now()), RequestID: "x"})
			return err
		}(), errs.Invalid},
		"borrow without devinfo": {func() error {
			_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[1].Signed(ids[1], e.Clock.Now()), RequestID: servertest.Nonce(), BorrowDays: 1})
			return err
		}(), errs.Invalid},
		"borrow beyond the limit": {func() error {
			_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[1].Signed(ids[1], e.Clock.Now()), RequestID: servertest.Nonce(),
				BorrowDays: server.DefaultMaxBorrowDays + 1, DevInfo: d[1].Fingerprint})
			return err
		}(), errs.Invalid},
		"borrow for another machine": {func() error {
			_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[1].Signed(ids[1], e.Clock.Now()), RequestID: servertest.Nonce(),
				BorrowDays: 1, DevInfo: d[0].Fingerprint})
			return err
		}(), errs.WrongMachine},
	} {
		if !errs.Is(c.err, c.kind) {
			t.Errorf("%s: %v (kind %v), want %v", name, c.err, errs.KindOf(c.err), c.kind)
		}
	}
	l, err := e.Store.Lease(ctx, g.Lease.ID)
	if err != nil || l.State != server.LeaseActive || !l.EndsAt.Equal(g.Lease.EndsAt) {
		t.Fatalf("lease changed: %+v %v", l, err)
	}
	if held, _ := e.Service.CodeLeases(ctx, activation.CodeHash(code)); len(held) != 1 {
		t.Fatalf("held %d", len(held))
	}
}

// The same machine activating again with a new device key (reinstalled)
// ends the old activation's leases with it.
func TestReplacedActivationEndsItsLeases(t *testing.T) {
	e, code, d, ids := floatingEnv(t, floating, 1, 1)
	g := take(t, e, d[0], ids[0])
	again := *d[0]
	again.Key = servertest.NewDevice(0).Key
	ga, err := e.Service.Activate(ctx, again.ActivateRequest(code))
	if err != nil || ga.Activation.ID == ids[0] {
		t.Fatalf("re-activation: %v", err)
	}
	refusal(t, heartbeatErr(e, g), errs.WrongMachine, server.ReasonMoved)
	take(t, e, &again, ga.Activation.ID)
}

// A node-locked product lends no lease; its activations keep their seats.
func TestNodeLockedHasNoLeases(t *testing.T) {
	e, _, d, ids := floatingEnv(t, server.Config{}, 1, 1)
	_, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce()})
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "not floating") {
		t.Fatalf("%v", err)
	}
}

// A released code, or an activation that lost its seat, stops its leases'
// heartbeats with the reason.
func TestHeartbeatFollowsTheCode(t *testing.T) {
	e, code, d, ids := floatingEnv(t, floating, 2, 2)
	a, b := take(t, e, d[0], ids[0]), take(t, e, d[1], ids[1])
	if err := e.Service.Revoke(ctx, ids[1], "left the company"); err != nil {
		t.Fatal(err)
	}
	refusal(t, heartbeatErr(e, b), errs.NotActivated, server.ReasonRevoked)
	c, err := e.Store.Code(ctx, activation.CodeHash(code))
	if err != nil {
		t.Fatal(err)
	}
	c.Status = licensing.StatusReleased
	if err := e.Store.PutCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	refusal(t, heartbeatErr(e, a), errs.Released, server.ReasonReleased)
}

// A floating product's device license needs a lease held by the activation
// and ends with it.
func TestDeviceLicenseUnderLease(t *testing.T) {
	e, _, d, ids := floatingEnv(t, floating, 2, 2)
	req := func(dev *servertest.Device, id, lease string) server.DeviceLicenseRequest {
		return server.DeviceLicenseRequest{Signed: dev.Signed(id, e.Clock.Now()), DevInfo: dev.Fingerprint, LeaseID: lease}
	}
	_, err := e.Service.DeviceLicense(ctx, req(d[0], ids[0], ""))
	refusal(t, err, errs.NotActivated, server.ReasonNoLease)
	g := take(t, e, d[0], ids[0])
	other := take(t, e, d[1], ids[1])
	_, err = e.Service.DeviceLicense(ctx, req(d[0], ids[0], other.Lease.ID))
	refusal(t, err, errs.NotActivated, server.ReasonNoLease)
	tok, err := e.Service.DeviceLicense(ctx, req(d[0], ids[0], g.Lease.ID))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := token.Verify(tok, e.Key.Public(), e.Clock.Now())
	if err != nil || cl.Expires != g.Lease.EndsAt.Unix() {
		t.Fatalf("claims %+v %v (lease ends %v)", cl, err, g.Lease.EndsAt)
	}
	if err := e.Service.ReturnLease(ctx, g.Lease.ID, g.Secret); err != nil {
		t.Fatal(err)
	}
	_, err = e.Service.DeviceLicense(ctx, req(d[0], ids[0], g.Lease.ID))
	refusal(t, err, errs.NotActivated, server.ReasonLeaseEnded)
}

// A borrowed lease comes with a device license that ends with the borrow,
// holds its seat without heartbeats until then, and frees it early when
// returned.
func TestBorrow(t *testing.T) {
	e, _, d, ids := floatingEnv(t, floating, 1, 2)
	g, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce(),
		BorrowDays: 3, DevInfo: d[0].Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	end := e.Clock.Now().Add(72 * time.Hour)
	if !g.Lease.Borrowed() || !g.Lease.BorrowedUntil.Equal(end) || !g.Lease.EndsAt.Equal(end) {
		t.Fatalf("borrow %+v", g.Lease)
	}
	cl, err := token.Verify(g.License, e.Key.Public(), e.Clock.Now())
	if err != nil || cl.Expires != end.Unix() || cl.DevInfo != d[0].Fingerprint {
		t.Fatalf("license %+v %v", cl, err)
	}
	if err := heartbeatErr(e, g); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "borrowed") {
		t.Fatalf("heartbeat of a borrow: %v", err)
	}
	// Two days on the seat is still taken; after three it is free and the
	// license has lapsed.
	e.Clock.Advance(48 * time.Hour)
	_, err = e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[1].Signed(ids[1], e.Clock.Now()), RequestID: servertest.Nonce()})
	refusal(t, err, errs.NotActivated, server.ReasonPoolFull)
	e.Clock.Advance(24 * time.Hour)
	if _, err := token.Verify(g.License, e.Key.Public(), e.Clock.Now()); err == nil {
		t.Fatal("the borrowed license outlived its borrow")
	}
	b := take(t, e, d[1], ids[1])
	// Returned early: the seat is free at once.
	if err := e.Service.ReturnLease(ctx, b.Lease.ID, b.Secret); err != nil {
		t.Fatal(err)
	}
	g2, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce(),
		BorrowDays: 7, DevInfo: d[0].Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Service.ReturnLease(ctx, g2.Lease.ID, g2.Secret); err != nil {
		t.Fatal(err)
	}
	take(t, e, d[1], ids[1])

	// Deactivating (or revoking) an activation ends its leases, a borrow
	// too: its seat is free at once.
	g3, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce(),
		BorrowDays: 5, DevInfo: d[0].Fingerprint})
	if err == nil {
		t.Fatal("borrowed from a full pool")
	}
	held, _ := e.Service.CodeLeases(ctx, g.Lease.CodeHash)
	if len(held) != 1 {
		t.Fatalf("held %d", len(held))
	}
	if err := e.Service.Revoke(ctx, held[0].ActivationID, "left"); err != nil {
		t.Fatal(err)
	}
	g3, err = e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d[0].Signed(ids[0], e.Clock.Now()), RequestID: servertest.Nonce(),
		BorrowDays: 5, DevInfo: d[0].Fingerprint})
	if err != nil {
		t.Fatalf("after the holder's activation was revoked: %v", err)
	}
	if err := e.Service.Deactivate(ctx, d[0].Signed(ids[0], e.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	if l, _ := e.Store.Lease(ctx, g3.Lease.ID); l.State != server.LeaseEnded {
		t.Fatalf("a deactivated activation's borrow: %+v", l)
	}
	if err := e.Service.ReturnLease(ctx, g3.Lease.ID, g3.Secret); err != nil {
		t.Fatalf("returning an ended borrow: %v", err)
	}

	// A product that allows no borrowing refuses it.
	cfg := floating
	cfg.Default.MaxBorrowDays = -1
	e2, _, d2, ids2 := floatingEnv(t, cfg, 1, 1)
	_, err = e2.Service.TakeLease(ctx, server.LeaseRequest{Signed: d2[0].Signed(ids2[0], e2.Clock.Now()), RequestID: servertest.Nonce(),
		BorrowDays: 1, DevInfo: d2[0].Fingerprint})
	if !errs.Is(err, errs.Permission) {
		t.Fatalf("borrow when none is allowed: %v", err)
	}
}

func TestFloatingConfig(t *testing.T) {
	for name, c := range map[string]server.Config{
		"model":             {Default: server.Product{LicenseModel: "per-user"}},
		"borrow days":       {Default: server.Product{LicenseModel: server.ModelFloating, MaxBorrowDays: server.MaxBorrowDaysLimit + 1}},
		"negative borrow":   {Default: server.Product{MaxBorrowDays: -2}},
		"heartbeat ≥ TTL":   {LeaseTTL: time.Minute, HeartbeatInterval: time.Minute},
		"default heartbeat": {LeaseTTL: time.Minute},
		"negative TTL":      {LeaseTTL: -time.Minute},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := floating.Validate(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHeartbeatService: the domain and the store alone (no HTTP), 1,000
// leases on SQLite renewed in parallel.
func BenchmarkHeartbeatService(b *testing.B) {
	e := servertest.New(b, "", floating)
	code := e.Code(b, 1000)
	devices, ids := e.ActivateMany(b, code, 1000)
	gs := make([]server.LeaseGrant, len(devices))
	for i, d := range devices {
		g, err := e.Service.TakeLease(ctx, server.LeaseRequest{Signed: d.Signed(ids[i], e.Clock.Now()), RequestID: servertest.Nonce()})
		if err != nil {
			b.Fatal(err)
		}
		gs[i] = g
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := gs[int(n.Add(1))%len(gs)]
			if _, err := e.Service.Heartbeat(ctx, g.Lease.ID, g.Secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
