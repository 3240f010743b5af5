package sqlstore_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token/activation"
)

var floatingCfg = server.Config{Default: server.Product{LicenseModel: server.ModelFloating}}

// testLeases drives the LeaseStore methods directly: what a heartbeat
// renews and what it refuses, ending, reaping and listing.
func testLeases(t *testing.T, node *servertest.Env) {
	e := servertest.New(t, node.DBURL, floatingCfg)
	s := e.Store
	code := e.Code(t, 3)
	_, ids := e.ActivateMany(t, code, 2)
	hash := activation.CodeHash(code)
	t0 := e.Clock.Now().UTC()
	lease := func(id, act string, ends time.Time, borrowed bool) server.Lease {
		l := server.Lease{ID: id, CodeHash: hash, ActivationID: act, RequestID: "req-" + id, Host: "h-" + id, App: "cad",
			SecretHash: server.LeaseSecretHash("secret-" + id), CreatedAt: t0, RenewedAt: t0, EndsAt: ends, State: server.LeaseActive}
		if borrowed {
			l.BorrowedUntil = ends
		}
		return l
	}
	a, b, c := lease("a", ids[0], t0.Add(10*time.Minute), false), lease("b", ids[1], t0.Add(5*time.Minute), false), lease("c", ids[1], t0.Add(72*time.Hour), true)
	err := s.Leases(ctx, hash, func(tx server.LeaseTx) error {
		if tx.Code().Hash != hash {
			t.Errorf("locked code %+v", tx.Code())
		}
		for _, l := range []server.Lease{a, b, c} {
			if err := tx.Insert(ctx, l); err != nil {
				return err
			}
		}
		if n, err := tx.Held(ctx, t0); err != nil || n != 3 {
			t.Errorf("held %d %v", n, err)
		}
		if n, _ := tx.Held(ctx, t0.Add(6*time.Minute)); n != 2 {
			t.Errorf("held after b's end: %d", n)
		}
		hs, err := tx.Holders(ctx, t0, 2)
		if err != nil || len(hs) != 2 || hs[0].ID != "b" || hs[1].ID != "a" {
			t.Errorf("holders %+v %v", hs, err)
		}
		got, ok, err := tx.ByRequest(ctx, ids[0], "req-a", t0)
		if err != nil || !ok || got != a {
			t.Errorf("by request %+v %v %v", got, ok, err)
		}
		if _, ok, _ := tx.ByRequest(ctx, ids[1], "req-a", t0); ok {
			t.Error("another activation's request found")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lease(ctx, "nope"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("missing lease: %v", err)
	}
	if got, err := s.Lease(ctx, "c"); err != nil || got != c {
		t.Fatalf("lease c %+v %v", got, err)
	}
	// A rolled-back transaction inserts nothing.
	boom := errors.New("boom")
	if err := s.Leases(ctx, hash, func(tx server.LeaseTx) error {
		_ = tx.Insert(ctx, lease("d", ids[0], t0.Add(time.Hour), false))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.Lease(ctx, "d"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("rolled back insert: %v", err)
	}
	if err := s.Leases(ctx, "no-such-code", func(server.LeaseTx) error { return nil }); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("lock of a missing code: %v", err)
	}

	now, until := t0.Add(time.Minute), t0.Add(11*time.Minute)
	for name, c := range map[string]struct {
		id, hash string
		at       time.Time
	}{
		"wrong secret":  {"a", server.LeaseSecretHash("other"), now},
		"past its end":  {"b", server.LeaseSecretHash("secret-b"), t0.Add(5 * time.Minute)},
		"borrowed":      {"c", server.LeaseSecretHash("secret-c"), now},
		"no such lease": {"z", server.LeaseSecretHash("secret-z"), now},
	} {
		if ok, err := s.Heartbeat(ctx, c.id, c.hash, c.at, until); ok || err != nil {
			t.Errorf("%s: renewed %v, %v", name, ok, err)
		}
	}
	if ok, err := s.Heartbeat(ctx, "a", server.LeaseSecretHash("secret-a"), now, until); !ok || err != nil {
		t.Fatalf("heartbeat: %v %v", ok, err)
	}
	if got, _ := s.Lease(ctx, "a"); !got.EndsAt.Equal(until) || !got.RenewedAt.Equal(now) {
		t.Fatalf("renewed %+v", got)
	}
	if got, _ := s.Lease(ctx, "b"); !got.EndsAt.Equal(b.EndsAt) {
		t.Fatalf("refused heartbeat changed b: %+v", got)
	}
	// The code released: no renewal; alive again: renewed.
	cd, _ := s.Code(ctx, hash)
	cd.Status = licensing.StatusReleased
	if err := s.PutCode(ctx, cd); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Heartbeat(ctx, "a", server.LeaseSecretHash("secret-a"), now, until); ok {
		t.Fatal("renewed under a released code")
	}
	cd.Status, cd.ExpireTime = licensing.StatusAlive, now
	if err := s.PutCode(ctx, cd); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Heartbeat(ctx, "a", server.LeaseSecretHash("secret-a"), now, until); ok {
		t.Fatal("renewed under an expired code")
	}
	cd.ExpireTime = time.Time{}
	if err := s.PutCode(ctx, cd); err != nil {
		t.Fatal(err)
	}
	// The activation revoked (the service ends its leases too, with
	// EndLeasesOf): no renewal.
	if err := e.Service.Revoke(ctx, ids[0], ""); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Heartbeat(ctx, "a", server.LeaseSecretHash("secret-a"), now, until); ok {
		t.Fatal("renewed for a revoked activation")
	}
	if got, _ := s.Lease(ctx, "a"); got.State != server.LeaseEnded {
		t.Fatalf("lease of a revoked activation %+v", got)
	}

	if ended, err := s.EndLease(ctx, "c", server.LeaseReturned, now); !ended || err != nil {
		t.Fatalf("end: %v %v", ended, err)
	}
	if ended, err := s.EndLease(ctx, "c", server.LeaseReturned, now); ended || err != nil {
		t.Fatalf("end again: %v %v", ended, err)
	}
	if got, _ := s.Lease(ctx, "c"); got.State != server.LeaseReturned || !got.EndedAt.Equal(now) {
		t.Fatalf("returned %+v", got)
	}
	if counts, err := s.HeldLeases(ctx, now); err != nil || len(counts) != 1 || counts[hash] != 1 {
		t.Fatalf("held counts %v %v", counts, err)
	}
	if n, err := s.EndLeasesOf(ctx, ids[1], server.LeaseEnded, now); n != 1 || err != nil { // b; c is returned
		t.Fatalf("ended %d %v", n, err)
	}
	if got, _ := s.Lease(ctx, "b"); got.State != server.LeaseEnded {
		t.Fatalf("b %+v", got)
	}
	// Reaping: a lease past its end only.
	d := lease("d", ids[1], t0.Add(5*time.Minute), false)
	if err := s.Leases(ctx, hash, func(tx server.LeaseTx) error { return tx.Insert(ctx, d) }); err != nil {
		t.Fatal(err)
	}
	if held, err := s.LeasesOfCode(ctx, hash, now); err != nil || len(held) != 1 || held[0].ID != "d" {
		t.Fatalf("held %+v %v", held, err)
	}
	if n, err := s.ReapLeases(ctx, t0.Add(4*time.Minute)); n != 0 || err != nil {
		t.Fatalf("reaped before the end %d %v", n, err)
	}
	if n, err := s.ReapLeases(ctx, t0.Add(6*time.Minute)); n != 1 || err != nil {
		t.Fatalf("reaped %d %v", n, err)
	}
	if n, _ := s.ReapLeases(ctx, t0.Add(6*time.Minute)); n != 0 {
		t.Fatalf("reaped again %d", n)
	}
	if got, _ := s.Lease(ctx, "d"); got.State != server.LeaseExpired || !got.EndedAt.Equal(d.EndsAt) {
		t.Fatalf("reaped lease %+v", got)
	}
	if counts, err := s.HeldLeases(ctx, now); err != nil || len(counts) != 0 {
		t.Fatalf("held counts at the end %v %v", counts, err)
	}
}

// concurrentLeases devices on two replicas (two pools on one database: on
// PostgreSQL, and on one SQLite file) take leases of a 10-lease pool at
// once: exactly 10 get one; then all holders renew at once.
const concurrentLeases, leasePool = 100, 10

func testConcurrentLeases(t *testing.T, node *servertest.Env) {
	e := servertest.New(t, node.DBURL, floatingCfg)
	replicas := []*server.Service{e.Service, e.Replica(t)}
	code := e.Code(t, leasePool)
	devices, ids := e.ActivateMany(t, code, concurrentLeases)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var granted []server.LeaseGrant
	full := 0
	start := make(chan struct{})
	for i, d := range devices {
		svc := replicas[i%2]
		wg.Go(func() {
			<-start
			g, err := svc.TakeLease(ctx, server.LeaseRequest{Signed: d.Signed(ids[i], e.Clock.Now()), RequestID: servertest.Nonce()})
			mu.Lock()
			defer mu.Unlock()
			var r *server.Refusal
			switch {
			case err == nil:
				granted = append(granted, g)
			case errors.As(err, &r) && r.Reason == server.ReasonPoolFull && len(r.Holders) == leasePool:
				full++
			default:
				t.Errorf("device %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(granted) != leasePool || full != concurrentLeases-leasePool {
		t.Fatalf("%d granted, %d refused; want %d and %d", len(granted), full, leasePool, concurrentLeases-leasePool)
	}
	e.Clock.Advance(2 * time.Minute)
	for i, g := range granted {
		wg.Go(func() {
			if _, err := replicas[i%2].Heartbeat(ctx, g.Lease.ID, g.Secret); err != nil {
				t.Errorf("heartbeat %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	held, err := e.Service.CodeLeases(ctx, activation.CodeHash(code))
	if err != nil || len(held) != leasePool {
		t.Fatalf("held %d %v", len(held), err)
	}
	for _, l := range held {
		if !l.EndsAt.Equal(e.Clock.Now().Add(server.DefaultLeaseTTL)) {
			t.Fatalf("not renewed: %+v", l)
		}
	}
}
