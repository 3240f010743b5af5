package licensing_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/store"
)

// Issue 11, finding 6: the user of the cached record can restore an older
// copy of it (a backup, a snapshot of the folder). The clock mark, kept
// outside the record, remembers the time and the codes' states.

// markedService is fileService with the clock mark in two files apart from
// the record: one in dir/state (the user's state folder), one in dir.
func markedService(dir string, market *fakeMarket, now func() time.Time) *licensing.Service {
	s := fileService(dir, market, now)
	s.Marks = store.NewMarks(nil, func() (string, error) { return "machine", nil }, markCopies(dir)...)
	return s
}

func markCopies(dir string) []string {
	return []string{filepath.Join(dir, "state", store.MarkFile), filepath.Join(dir, store.MarkFile)}
}

// recordFiles are what the encrypted-file store keeps: restoring them is
// restoring the record.
var recordFiles = []string{"authorization.sealed", "install.secret"}

// activatedMarked is markedService in a new folder, with PLGOOD activated
// at t0.
func activatedMarked(t *testing.T) (dir string, market *fakeMarket, c *clock, s *licensing.Service) {
	t.Helper()
	dir, market, c = t.TempDir(), goodMarket(), &clock{t: t0}
	s = markedService(dir, market, c.Now)
	if _, err := s.Activate(context.Background(), "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	return dir, market, c, s
}

func snapshot(t *testing.T, dir string, names ...string) map[string][]byte {
	t.Helper()
	snap := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		snap[n] = b
	}
	return snap
}

func restore(t *testing.T, dir string, snap map[string][]byte) {
	t.Helper()
	for n, b := range snap {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func wantKind(t *testing.T, what string, st licensing.State, err error, kind errs.Kind) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if errs.KindOf(st.Verdict.Err) != kind || kind == errs.Other && !st.Verdict.Valid() {
		t.Fatalf("%s: verdict %v, want kind %v", what, st.Verdict.Err, kind)
	}
}

// An ALIVE copy saved before the marketplace said RELEASED, restored after:
// refused, and deleting either copy of the mark is not enough.
func TestRestoredCopyAfterReleaseRefused(t *testing.T) {
	ctx := context.Background()
	dir, market, c, s := activatedMarked(t)
	alive := snapshot(t, dir, recordFiles...)

	c.Add(25 * time.Hour)
	market.set("PLGOOD", licensing.StatusReleased)
	st, err := s.Status(ctx, true)
	wantKind(t, "the daily check", st, err, errs.Released)

	restore(t, dir, alive)
	st, err = s.Status(ctx, false)
	wantKind(t, "the restored copy", st, err, errs.Released)
	st, err = s.Check(ctx, nil)
	wantKind(t, "a program's start with the restored copy", st, err, errs.Released)

	marks := snapshot(t, dir, "state/"+store.MarkFile, store.MarkFile)
	for name := range marks {
		restore(t, dir, marks)
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		// Another process, started afresh, reads what is left.
		st, err := markedService(dir, market, c.Now).Status(ctx, false)
		wantKind(t, "the restored copy with "+name+" deleted", st, err, errs.Released)
	}
	// The next write repaired the copy deleted last.
	c.Add(time.Hour)
	if _, err := s.Status(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.MarkFile)); err != nil {
		t.Fatalf("the deleted copy was not written again: %v", err)
	}

	// The limit docs/architecture.md states: whoever deletes every copy of
	// the mark as well takes the machine's memory with them.
	for _, name := range []string{"state/" + store.MarkFile, store.MarkFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	restore(t, dir, alive)
	if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("with every copy of the mark deleted: %v %v", err, st.Verdict.Err)
	}
}

// An activation the marketplace refuses as RELEASED is remembered too.
func TestRefusedActivationRemembered(t *testing.T) {
	ctx := context.Background()
	dir, market, c, s := activatedMarked(t)
	alive := snapshot(t, dir, recordFiles...)
	market.set("PLGOOD", licensing.StatusReleased)
	c.Add(time.Hour)
	if _, err := s.Activate(ctx, "PLGOOD"); !errs.Is(err, errs.Released) {
		t.Fatalf("activating a released code: %v", err)
	}
	restore(t, dir, alive)
	st, err := s.Status(ctx, false)
	wantKind(t, "the copy from before the refused activation", st, err, errs.Released)
}

// An older ALIVE copy is refused as one; an online check brings the
// record up to date again.
func TestRestoredOlderCopyRefused(t *testing.T) {
	ctx := context.Background()
	dir, _, c, s := activatedMarked(t)
	old := snapshot(t, dir, recordFiles...)
	c.Add(3 * 24 * time.Hour)
	st, err := s.Status(ctx, true)
	wantKind(t, "online check", st, err, errs.Other)
	c.Add(time.Hour)
	restore(t, dir, old)
	st, err = s.Status(ctx, false)
	wantKind(t, "the older copy", st, err, errs.Tampered)
	st, err = s.Status(ctx, true)
	wantKind(t, "checked online again", st, err, errs.Other)
}

// The record restored with its older MaxSeen, and the clock set back to
// its time: the machine remembers the later time.
func TestClockSetBackWithRestoredCopy(t *testing.T) {
	ctx := context.Background()
	dir, _, c, s := activatedMarked(t)
	old := snapshot(t, dir, recordFiles...)
	for range 5 { // offline use for five days
		c.Add(24 * time.Hour)
		if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
			t.Fatalf("offline use: %v %v", err, st.Verdict.Err)
		}
	}
	restore(t, dir, old)
	c.Add(-5*24*time.Hour + time.Hour)
	st, err := s.Status(ctx, false)
	wantKind(t, "the clock set back to the restored copy's time", st, err, errs.ClockRollback)
}

// A clock once far ahead leaves the mark there; activating again, with the
// clock put right, starts it again.
func TestActivateAgainAfterClockWasAhead(t *testing.T) {
	ctx := context.Background()
	_, _, c, s := activatedMarked(t)
	c.Add(24 * 365 * time.Hour)
	if _, err := s.Status(ctx, false); err != nil {
		t.Fatal(err)
	}
	c.Add(-24*365*time.Hour + time.Hour)
	st, err := s.Status(ctx, false)
	wantKind(t, "the clock put right", st, err, errs.ClockRollback)
	if st, err := s.Activate(ctx, "PLGOOD"); err != nil || !st.Verdict.Valid() {
		t.Fatalf("activate again: %v %v", err, st.Verdict.Err)
	}
	st, err = s.Status(ctx, false)
	wantKind(t, "after activating again", st, err, errs.Other)
}

// The mark's read-modify-write holds the service's lock: services that
// share only the lock file (processes) and goroutines of one service,
// each reading another time, never lose the latest. Run with -race.
func TestMarkUpdatedUnderLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	market := goodMarket()
	if _, err := markedService(dir, market, (&clock{t: t0}).Now).Activate(ctx, "PLGOOD"); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 12
	shared := markedService(dir, market, nil)
	var mu sync.Mutex
	tick := 0
	shared.Now = func() time.Time { // every call of the shared service reads a later time
		mu.Lock()
		defer mu.Unlock()
		tick++
		return t0.Add(time.Duration(tick) * 2 * time.Minute)
	}
	var wg sync.WaitGroup
	for w := range workers {
		own := markedService(dir, market, func() time.Time { return t0.Add(time.Duration(w+1) * time.Hour) })
		wg.Go(func() {
			for range rounds {
				for _, s := range []*licensing.Service{own, shared} {
					if _, err := s.Status(ctx, false); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	latest := t0.Add(time.Duration(workers) * time.Hour)
	if last := t0.Add(time.Duration(tick) * 2 * time.Minute); last.After(latest) {
		latest = last
	}
	m, err := store.NewMarks(nil, func() (string, error) { return "machine", nil }, markCopies(dir)...).LoadMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Observe writes once MarkResolution has passed: the mark is at most
	// that far behind the latest reading, never further.
	if m.MaxSeen.Before(latest.Add(-licensing.MarkResolution)) || m.MaxSeen.After(latest) {
		t.Fatalf("mark at %v, latest reading %v: an update was lost", m.MaxSeen, latest)
	}
	for _, p := range markCopies(dir) {
		one, err := store.NewMarks(nil, func() (string, error) { return "machine", nil }, p).LoadMark(ctx)
		if err != nil || !one.MaxSeen.Equal(m.MaxSeen) {
			t.Errorf("copy %s at %v, want %v (%v)", p, one.MaxSeen, m.MaxSeen, err)
		}
	}
}
