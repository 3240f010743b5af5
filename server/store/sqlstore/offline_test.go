package sqlstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// Offline nonces: recorded once inside a seat transaction, rolled back with
// it, and forgotten only past the horizon given.
func testOfflineNonces(t *testing.T, e *servertest.Env) {
	s := e.Store
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutCode(ctx, server.Code{Code: "c", Hash: "h", Status: "ALIVE", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	use := func(nonce string, at, before time.Time) error {
		return s.Seats(ctx, "h", func(tx server.SeatTx) error { return tx.UseOfflineNonce(ctx, nonce, "activate", at, before) })
	}
	if err := use("n1", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := use("n1", t0, t0.Add(-time.Hour)); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// A transaction that fails after recording its nonce leaves none.
	boom := errors.New("boom")
	if err := s.Seats(ctx, "h", func(tx server.SeatTx) error {
		if err := tx.UseOfflineNonce(ctx, "n2", "activate", t0, t0); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := use("n2", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatalf("rolled-back nonce kept: %v", err)
	}
	// Forgetting (one call in 16 at random) keeps what is inside the
	// horizon: n1, recorded at t0, is still known after many calls whose
	// horizon is just before t0.
	for i := range 64 {
		if err := use(servertest.Nonce()+string(rune('a'+i%26)), t0.Add(time.Minute), t0.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := use("n1", t0, t0.Add(-time.Second)); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("nonce inside the horizon forgotten: %v", err)
	}
}
