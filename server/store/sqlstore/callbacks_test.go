package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
)

// The CallbackStore half, run by suite on both databases.

func testCallbackNonces(t *testing.T, e *servertest.Env) {
	s := e.Store
	t0 := servertest.Start
	if err := s.UseCallbackNonce(ctx, "n1", t0, t0.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.UseCallbackNonce(ctx, "n1", t0.Add(time.Second), t0.Add(-2*time.Minute)); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("seen nonce: %v", err)
	}
	// Another process (its own pool) sees it too.
	other := open(t, e)
	if err := other.UseCallbackNonce(ctx, "n1", t0, t0); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("seen nonce on a replica: %v", err)
	}
	// Old nonces go (now and then: enough calls make it certain).
	for i := range 1200 { // one call in 64 forgets: missed with odds below 1e-8
		if err := s.UseCallbackNonce(ctx, fmt.Sprint("m", i), t0.Add(time.Hour), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UseCallbackNonce(ctx, "n1", t0.Add(time.Hour), t0.Add(time.Minute)); err != nil {
		t.Fatalf("a nonce older than the horizon was kept: %v", err)
	}
}

func open(t *testing.T, e *servertest.Env) *sqlstore.Store {
	st, err := sqlstore.Open(ctx, e.DBURL, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testCodeEvents(t *testing.T, e *servertest.Env) {
	s := e.Store
	t0 := servertest.Start
	known := server.Code{Code: "KNOWN", Hash: "hk", Status: licensing.StatusAlive, ProductID: "p", OrderID: "o", Amount: 3,
		ExpireTime: t0.Add(time.Hour), ActivateTime: t0, QueriedAt: t0, CreatedAt: t0}
	if err := s.PutCode(ctx, known); err != nil {
		t.Fatal(err)
	}
	renew := server.CodeEvent{Key: "k1", Activity: "refreshLicenseCode", Hash: "hk", Code: "KNOWN", Status: licensing.StatusAlive,
		ExpireTime: t0.Add(48 * time.Hour), At: t0.Add(time.Minute)}
	for i := range 3 {
		applied, err := s.ApplyCodeEvent(ctx, renew)
		if err != nil || applied != (i == 0) {
			t.Fatalf("apply %d: %v %v", i, applied, err)
		}
	}
	c, _ := s.Code(ctx, "hk")
	if !c.ExpireTime.Equal(renew.ExpireTime) || c.Amount != 3 || c.ProductID != "p" || c.OrderID != "o" || !c.QueriedAt.Equal(renew.At) {
		t.Fatalf("after renewal: %+v", c)
	}
	if applied, err := s.ApplyCodeEvent(ctx, server.CodeEvent{Key: "k2", Activity: "releaseLicenseCode", Hash: "hk", Code: "KNOWN",
		Status: licensing.StatusReleased, At: t0.Add(2 * time.Minute)}); !applied || err != nil {
		t.Fatal(applied, err)
	}
	if applied, err := s.ApplyCodeEvent(ctx, server.CodeEvent{Key: "k3", Activity: "refreshLicenseCode", Hash: "hk", Code: "KNOWN",
		Status: licensing.StatusAlive, ExpireTime: t0.Add(96 * time.Hour), At: t0.Add(3 * time.Minute)}); !applied || err != nil {
		t.Fatal(applied, err)
	}
	if c, _ := s.Code(ctx, "hk"); c.Status != licensing.StatusReleased || !c.ExpireTime.Equal(t0.Add(96*time.Hour)) {
		t.Fatalf("released code after a refresh: %+v", c)
	}
	// Unknown codes are recorded, never asked about.
	if _, err := s.ApplyCodeEvent(ctx, server.CodeEvent{Key: "k4", Activity: "refreshLicenseCode", Hash: "hn", Code: "NEW",
		Status: licensing.StatusAlive, ExpireTime: t0.Add(time.Hour), ProductID: "p2", OrderID: "o2", At: t0}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Code(ctx, "hn"); err != nil || c.Status != licensing.StatusAlive || !c.QueriedAt.IsZero() || c.ProductID != "p2" || !c.CreatedAt.Equal(t0) {
		t.Fatalf("unknown code: %+v %v", c, err)
	}
	if _, err := s.ApplyCodeEvent(ctx, server.CodeEvent{Key: "k5", Activity: "releaseLicenseCode", Hash: "hr", Code: "REL",
		Status: licensing.StatusReleased, At: t0}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Code(ctx, "hr"); err != nil || c.Status != licensing.StatusReleased {
		t.Fatalf("unknown released code: %+v %v", c, err)
	}
	// Two processes applying one event at once: once.
	other := open(t, e)
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := range 20 {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			ok, err := st.ApplyCodeEvent(ctx, server.CodeEvent{Key: "k6", Activity: "releaseLicenseCode", Hash: "hk", Code: "KNOWN",
				Status: licensing.StatusReleased, At: t0})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if applied != 1 {
		t.Fatalf("applied %d times", applied)
	}
}

func asyncLic(event, fp string, at time.Time) server.AsyncLicense {
	return server.AsyncLicense{EventID: event, Fingerprint: fp, InstanceID: "inst", ProductID: "p", TestFlag: "1",
		Token: "tok-" + event + "-" + fp, CreatedAt: at}
}

func testAsyncLicenses(t *testing.T, e *servertest.Env) {
	s := e.Store
	t0 := servertest.Start
	if _, err := s.AsyncLicense(ctx, "e1", "fp1"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	got, err := s.PutAsyncLicense(ctx, asyncLic("e1", "fp1", t0), 2)
	if err != nil || got.State != server.UploadPending || got.Token != "tok-e1-fp1" {
		t.Fatalf("put: %+v %v", got, err)
	}
	again := asyncLic("e1", "fp1", t0.Add(time.Minute))
	again.Token = "another"
	if got, err := s.PutAsyncLicense(ctx, again, 2); err != nil || got.Token != "tok-e1-fp1" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("put again: %+v %v", got, err)
	}
	if _, err := s.PutAsyncLicense(ctx, asyncLic("e2", "fp1", t0), 2); err != nil {
		t.Fatalf("same device, other event: %v", err)
	}
	if _, err := s.PutAsyncLicense(ctx, asyncLic("e3", "fp2", t0), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAsyncLicense(ctx, asyncLic("e4", "fp3", t0), 2); !errors.Is(err, server.ErrNoQuota) {
		t.Fatalf("third device: %v", err)
	}
	if _, err := s.PutAsyncLicense(ctx, asyncLic("e4", "fp3", t0), 0); err != nil {
		t.Fatalf("no quota: %v", err)
	}

	// Claims: due ones, leased to one owner; a single one by key.
	one, err := s.ClaimUploads(ctx, "a", t0, t0.Add(time.Minute), 10, "e3", "fp2")
	if err != nil || len(one) != 1 || one[0].EventID != "e3" {
		t.Fatalf("claim one: %+v %v", one, err)
	}
	rest, err := s.ClaimUploads(ctx, "b", t0, t0.Add(time.Minute), 10, "", "")
	if err != nil || len(rest) != 3 {
		t.Fatalf("claim rest: %d %v", len(rest), err)
	}
	if none, _ := s.ClaimUploads(ctx, "c", t0.Add(30*time.Second), t0.Add(time.Minute), 10, "", ""); len(none) != 0 {
		t.Fatalf("claimed %d leased uploads", len(none))
	}
	if ok, err := s.FinishUpload(ctx, "b", server.UploadResult{EventID: "e3", Fingerprint: "fp2", State: server.UploadDone, At: t0}); ok || err != nil {
		t.Fatalf("finish by a non-holder: %v %v", ok, err)
	}
	if ok, err := s.FinishUpload(ctx, "a", server.UploadResult{EventID: "e3", Fingerprint: "fp2", State: server.UploadDone, At: t0}); !ok || err != nil {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if ok, _ := s.FinishUpload(ctx, "b", server.UploadResult{EventID: "e1", Fingerprint: "fp1", State: server.UploadPending,
		At: t0, NextAt: t0.Add(time.Hour), Code: "CBC.0999", Error: "x"}); !ok {
		t.Fatal("retry not recorded")
	}
	if ok, _ := s.FinishUpload(ctx, "b", server.UploadResult{EventID: "e2", Fingerprint: "fp1", State: server.UploadFailed,
		At: t0, Code: "91381033", Error: "resource invalid"}); !ok {
		t.Fatal("failure not recorded")
	}
	l, _ := s.AsyncLicense(ctx, "e1", "fp1")
	if l.State != server.UploadPending || l.Attempts != 1 || !l.NextAt.Equal(t0.Add(time.Hour)) || l.LastCode != "CBC.0999" {
		t.Fatalf("retry: %+v", l)
	}
	if l, _ := s.AsyncLicense(ctx, "e3", "fp2"); l.State != server.UploadDone || !l.DeliveredAt.Equal(t0) {
		t.Fatalf("done: %+v", l)
	}
	counts, err := s.UploadCounts(ctx)
	if err != nil || counts[server.UploadPending] != 2 || counts[server.UploadDone] != 1 || counts[server.UploadFailed] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
	// e4 is still leased to b until t0+1m; after that anyone may take it,
	// e1 is due at t0+1h.
	if got, _ := s.ClaimUploads(ctx, "c", t0.Add(time.Minute), t0.Add(time.Hour), 10, "", ""); len(got) != 1 || got[0].EventID != "e4" {
		t.Fatalf("after the lease lapsed: %+v", got)
	}

	// A license inserted leased to its issuer is not claimed by others
	// before the lease lapses.
	leased := asyncLic("L1", "fpL", t0)
	leased.LeaseOwner, leased.LeaseUntil = "issuer", t0.Add(90*time.Minute)
	if got, err := s.PutAsyncLicense(ctx, leased, 0); err != nil || got.LeaseOwner != "issuer" {
		t.Fatalf("leased put: %+v %v", got, err)
	}
	if got, _ := s.ClaimUploads(ctx, "other", t0.Add(time.Hour), t0.Add(2*time.Hour), 10, "L1", "fpL"); len(got) != 0 {
		t.Fatal("claimed a license leased to its issuer")
	}
	if ok, err := s.FinishUpload(ctx, "issuer", server.UploadResult{EventID: "L1", Fingerprint: "fpL", State: server.UploadDone, At: t0}); !ok || err != nil {
		t.Fatalf("issuer's outcome: %v %v", ok, err)
	}

	// Two processes claiming a backlog at once take disjoint shares.
	for i := range 40 {
		if _, err := s.PutAsyncLicense(ctx, asyncLic(fmt.Sprint("b", i), fmt.Sprint("fpb", i), t0), 0); err != nil {
			t.Fatal(err)
		}
	}
	other := open(t, e)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]string{}
	for w, st := range []*sqlstore.Store{s, other, s, other} {
		owner := fmt.Sprint("w", w)
		wg.Go(func() {
			for {
				got, err := st.ClaimUploads(ctx, owner, t0.Add(2*time.Minute), t0.Add(10*time.Minute), 3, "", "")
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, l := range got {
					if prev, ok := seen[l.EventID]; ok {
						t.Errorf("%s claimed by %s and %s", l.EventID, prev, owner)
					}
					seen[l.EventID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("%d of 40 claimed", len(seen))
	}
}
