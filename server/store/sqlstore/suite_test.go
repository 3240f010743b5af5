package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
)

var ctx = context.Background()

// One suite, two databases: SQLite in a temporary file, and a real
// PostgreSQL cluster the test starts (testutil.StartPostgres).

func TestSQLite(t *testing.T) {
	suite(t, func(t *testing.T) string { return "" })
}

func TestPostgres(t *testing.T) {
	pg := testutil.StartPostgres(t)
	suite(t, func(t *testing.T) string { return pg.NewDatabase(t) })
}

func suite(t *testing.T, newDB func(t *testing.T) string) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *servertest.Env)
	}{
		{"migrate", testMigrate},
		{"codes", testCodes},
		{"activations", testActivations},
		{"nonces", testNonces},
		{"offline nonces", testOfflineNonces},
		{"usage", testUsage},
		{"concurrent seats", testConcurrentSeats},
		{"concurrent seats on two replicas", testConcurrentReplicas},
		{"one marketplace query for concurrent checks", testConcurrentChecks},
		{"candidates cover the tolerance policy", testCandidates},
		{"activations from before the parts index are indexed", testBackfill},
		{"leases", testLeases},
		{"concurrent leases on two replicas", testConcurrentLeases},
		{"callback nonces", testCallbackNonces},
		{"code events", testCodeEvents},
		{"async licenses and their upload queue", testAsyncLicenses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, servertest.New(t, newDB(t), server.Config{}))
		})
	}
}

func testMigrate(t *testing.T, e *servertest.Env) {
	v, err := e.Store.Migrate(ctx, nil)
	if err != nil || v < 1 {
		t.Fatalf("migrate again: %d, %v", v, err)
	}
	if got, err := e.Store.Version(ctx); err != nil || got != v {
		t.Fatalf("version %d, %v", got, err)
	}
	if err := e.Store.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testCodes(t *testing.T, e *servertest.Env) {
	s := e.Store
	if _, err := s.Code(ctx, "nope"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("missing code: %v", err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	c := server.Code{Code: "PLA", Hash: "h1", Status: licensing.StatusAlive, ProductID: "p", OrderID: "o", Amount: 2.5,
		ExpireTime: t0.Add(time.Hour), ActivateTime: t0, QueriedAt: t0, CreatedAt: t0}
	if err := s.PutCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	c2 := c
	c2.Status, c2.CreatedAt, c2.QueriedAt = licensing.StatusReleased, t0.Add(time.Hour), t0.Add(time.Minute)
	if err := s.PutCode(ctx, c2); err != nil {
		t.Fatal(err)
	}
	got, err := s.Code(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	want := c2
	want.CreatedAt = t0 // kept
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if all, err := s.Codes(ctx); err != nil || len(all) != 1 || all[0].Hash != "h1" || all[0].Bound != 0 {
		t.Fatalf("codes %v %v", all, err)
	}
}

func testActivations(t *testing.T, e *servertest.Env) {
	s := e.Store
	t0 := servertest.Start
	if err := s.PutCode(ctx, server.Code{Code: "PLB", Hash: "h2", Status: licensing.StatusAlive, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Seats(ctx, "unknown", func(server.SeatTx) error { return nil }); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("seats of an unknown code: %v", err)
	}
	d := servertest.NewDevice(1)
	a := server.Activation{ID: "act_1", CodeHash: "h2", RequestID: "req-0001", Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
		Host: "h", App: "a", Version: "v", State: server.StateActive, CreatedAt: t0}
	if err := s.Seats(ctx, "h2", func(tx server.SeatTx) error { return tx.Insert(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	// A failing fn rolls back.
	boom := errors.New("boom")
	err := s.Seats(ctx, "h2", func(tx server.SeatTx) error {
		b := a
		b.ID = "act_2"
		if err := tx.Insert(ctx, b); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.Activation(ctx, "act_2"); !errors.Is(err, server.ErrNotFound) {
		t.Fatalf("rolled back insert is there: %v", err)
	}
	got, err := s.Activation(ctx, "act_1")
	if err != nil || !got.DeviceKey.Equal(a.DeviceKey) || got.CreatedAt != t0 || got.State != server.StateActive {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Checked leaves an ended activation ended.
	a.State, a.EndedAt, a.EndNote = server.StateRevoked, t0.Add(time.Hour), "note"
	if err := s.Seats(ctx, "h2", func(tx server.SeatTx) error {
		if n, err := tx.Count(ctx); err != nil || n != 1 {
			t.Fatalf("count %d %v", n, err)
		}
		if got, ok, err := tx.ByRequest(ctx, "req-0001"); err != nil || !ok || got.ID != "act_1" {
			t.Fatalf("by request: %+v %v %v", got, ok, err)
		}
		if _, ok, _ := tx.ByRequest(ctx, "req-other"); ok {
			t.Fatal("found an activation by a request id never used")
		}
		if _, err := tx.Get(ctx, "act_none"); !errors.Is(err, server.ErrNotFound) {
			t.Fatalf("get of a missing activation: %v", err)
		}
		return tx.Update(ctx, a)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Checked(ctx, a, "n-revoked", t0.Add(2*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Activation(ctx, "act_1")
	if got.State != server.StateRevoked || !got.LastCheckAt.IsZero() || got.EndNote != "note" {
		t.Fatalf("after a check of a revoked activation: %+v", got)
	}
	if list, err := s.Activations(ctx, "h2"); err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
}

func testNonces(t *testing.T, e *servertest.Env) {
	s, t0 := e.Store, servertest.Start
	if err := s.UseNonce(ctx, "act_1", "n1", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(ctx, "act_1", "n1", t0, t0.Add(-time.Hour)); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := s.UseNonce(ctx, "act_2", "n1", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatalf("same nonce, other activation: %v", err)
	}
	// A check with a nonce seen before changes nothing.
	if err := s.Checked(ctx, server.Activation{ID: "act_1", CodeHash: "h"}, "n1", t0, t0.Add(-time.Hour)); !errors.Is(err, server.ErrReplay) {
		t.Fatalf("check replayed: %v", err)
	}
}

func testUsage(t *testing.T, e *servertest.Env) {
	s, t0 := e.Store, servertest.Start
	if err := s.PutCode(ctx, server.Code{Code: "PLC", Hash: "h3", Status: licensing.StatusAlive, ProductID: "p", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"a1", "a2", "a1"} {
		if err := s.Checked(ctx, server.Activation{ID: id, CodeHash: "h3"}, fmt.Sprint("n", i), t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checked(ctx, server.Activation{ID: "a3", CodeHash: "h3"}, "n3", t0.Add(24*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	day := t0.Format(time.DateOnly)
	p, err := s.PendingUsage(ctx, t0.Add(24*time.Hour).Format(time.DateOnly))
	if err != nil || len(p) != 1 || p[0].Day != day || len(p[0].Activations) != 2 || p[0].Code != "PLC" || p[0].ProductID != "p" {
		t.Fatalf("pending %+v %v", p, err)
	}
	if err := s.MarkReported(ctx, "h3", day, t0); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PendingUsage(ctx, t0.Add(48*time.Hour).Format(time.DateOnly)); len(p) != 1 || len(p[0].Activations) != 1 {
		t.Fatalf("pending after the report %+v", p)
	}
}

// concurrentDevices is the acceptance figure: 200 distinct devices at once
// on one 10-seat code.
const concurrentDevices, concurrentSeats = 200, 10

func testConcurrentSeats(t *testing.T, e *servertest.Env) {
	activateAll(t, e, []*server.Service{e.Service})
}

func testConcurrentReplicas(t *testing.T, e *servertest.Env) {
	if e.Store.Dialect() == sqlstore.SQLite {
		t.Skip("SQLite serves one process; two replicas share PostgreSQL")
	}
	activateAll(t, e, []*server.Service{e.Service, e.Replica(t)})
}

func activateAll(t *testing.T, e *servertest.Env, replicas []*server.Service) {
	code := e.Code(t, concurrentSeats)
	var wg sync.WaitGroup
	var mu sync.Mutex
	bound, full := map[string]bool{}, 0
	start := make(chan struct{})
	began := time.Now()
	for i := range concurrentDevices {
		d := servertest.NewDevice(i)
		svc := replicas[i%len(replicas)]
		wg.Go(func() {
			<-start
			g, err := svc.Activate(ctx, d.ActivateRequest(code))
			mu.Lock()
			defer mu.Unlock()
			var r *server.Refusal
			switch {
			case err == nil:
				bound[g.Activation.ID] = true
			case errs.Is(err, errs.NotActivated) && errors.As(err, &r) && r.Reason == server.ReasonSeatsFull && len(r.Holders) == concurrentSeats:
				full++
			default:
				t.Errorf("device %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("%d activations on %d replica(s) in %v", concurrentDevices, len(replicas), time.Since(began))
	if len(bound) != concurrentSeats || full != concurrentDevices-concurrentSeats {
		t.Fatalf("%d bound, %d refused as full; want %d and %d", len(bound), full, concurrentSeats, concurrentDevices-concurrentSeats)
	}
	view, err := e.Service.CodeInfo(ctx, code)
	if err != nil || view.Bound() != concurrentSeats {
		t.Fatalf("database holds %d active activations (%v), want %d", view.Bound(), err, concurrentSeats)
	}
	if n := e.Upstream.Get("activate"); n > len(replicas) {
		t.Fatalf("%d marketplace activations for one code, want at most one per replica", n)
	}
}

// 200 devices checking one code at once, through two replicas on
// PostgreSQL (one service on SQLite), the day after its last marketplace
// answer: one marketplace query in all.
func testConcurrentChecks(t *testing.T, e *servertest.Env) {
	replicas := []*server.Service{e.Service}
	if e.Store.Dialect() == sqlstore.Postgres {
		replicas = append(replicas, e.Replica(t))
	}
	code := e.Code(t, concurrentDevices)
	devices, ids := e.ActivateMany(t, code, concurrentDevices)
	e.Clock.Advance(server.DefaultQueryInterval + time.Minute)
	before := e.Upstream.Get("query")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, d := range devices {
		svc := replicas[i%len(replicas)]
		wg.Go(func() {
			<-start
			if _, err := svc.Check(ctx, server.CheckRequest{Signed: d.Signed(ids[i], e.Clock.Now())}); err != nil {
				t.Errorf("device %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := e.Upstream.Get("query") - before; n != 1 {
		t.Fatalf("%d marketplace queries for %d concurrent checks on %d replica(s), want 1", n, concurrentDevices, len(replicas))
	}
}

// The indexed lookup of the same machine misses none that devinfo.Compare
// would find: random fingerprints drawn from small pools of values (so that
// they overlap in every way, empty parts included), each compared with
// every stored one.
func testCandidates(t *testing.T, e *servertest.Env) {
	s, t0 := e.Store, servertest.Start
	const hash = "hc"
	if err := s.PutCode(ctx, server.Code{Code: "PLD", Hash: hash, Status: licensing.StatusAlive, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(pool []string, max int) []string {
		var out []string
		for range rng.IntN(max + 1) {
			v := pool[rng.IntN(len(pool))]
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		return out
	}
	one := func(pool []string) string {
		if rng.IntN(3) == 0 {
			return ""
		}
		return pool[rng.IntN(len(pool))]
	}
	macs := []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:04"}
	disks, boards, cpus := []string{"D1", "D2", "D3"}, []string{"B1", "B2"}, []string{"C1", "C2"}
	// A fingerprint as the desktop sends it: rendered (normalised), and
	// read back as the server reads it.
	random := func() devinfo.Components {
		c, err := devinfo.Parse(devinfo.Render(devinfo.Components{MAC: pick(macs, 2), Disk: pick(disks, 2), Board: one(boards), CPU: one(cpus)}).String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var stored []devinfo.Components
	if err := s.Seats(ctx, hash, func(tx server.SeatTx) error {
		for i := range 150 {
			c := random()
			stored = append(stored, c)
			d := servertest.NewDevice(i)
			if err := tx.Insert(ctx, server.Activation{ID: fmt.Sprintf("act_%03d", i), CodeHash: hash, RequestID: fmt.Sprintf("r%08d", i),
				Fingerprint: devinfo.Render(c).String(), DeviceKey: d.Public(), Host: d.Host, State: server.StateActive, CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 300 {
		cur := random()
		var found []server.Activation
		if err := s.Seats(ctx, hash, func(tx server.SeatTx) error {
			var err error
			found, err = tx.Candidates(ctx, cur)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, a := range found {
			ids[a.ID] = true
		}
		for i, st := range stored {
			if devinfo.Compare(st, cur).SameMachine && !ids[fmt.Sprintf("act_%03d", i)] {
				t.Fatalf("stored %+v is the same machine as %+v, but not a candidate", st, cur)
			}
		}
	}
}

// Activations made before migration 2 have no rows in activation_parts:
// Migrate fills them in (idempotent), so the same machine is found.
func testBackfill(t *testing.T, e *servertest.Env) {
	code := e.Code(t, 5)
	d := servertest.NewDevice(1)
	g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	q := "DELETE FROM activation_parts WHERE activation_id = ?"
	if e.Store.Dialect() == sqlstore.Postgres {
		q = "DELETE FROM activation_parts WHERE activation_id = $1"
	}
	if _, err := e.Store.DB().ExecContext(ctx, q, g.Activation.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.Store.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	again, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil || again.Activation.ID != g.Activation.ID {
		t.Fatalf("the same machine after the backfill: %v, %s vs %s", err, again.Activation.ID, g.Activation.ID)
	}
}
