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

// Issue 11, finding 6, with the vendor server's tokens: the user of the
// cached activation can restore an older copy of it (a backup, a snapshot
// of the folder). The token's signature stops an edit, but not an older
// genuine token; the clock mark, kept outside the record, remembers the
// time and how the server ended the activation.

// markedService is fileService with the clock mark in two files apart from
// the record: one in dir/state (the user's state folder), one in dir.
func (v *vendor) markedService(dir string, now func() time.Time) *licensing.Service {
	s := v.fileService(dir, now)
	s.Marks = store.NewMarks(nil, machine, markCopies(dir)...)
	return s
}

func markCopies(dir string) []string {
	return []string{filepath.Join(dir, "state", store.MarkFile), filepath.Join(dir, store.MarkFile)}
}

// recordFiles are what the encrypted-file store keeps: restoring them is
// restoring the record.
var recordFiles = []string{"authorization.sealed", "install.secret"}

// activatedMarked is markedService in a new folder, with the vendor's code
// activated at t0.
func activatedMarked(t *testing.T) (dir string, v *vendor, s *licensing.Service) {
	t.Helper()
	dir, v = t.TempDir(), newVendor(t)
	s = v.markedService(dir, v.clock.Now)
	if _, err := s.Activate(context.Background(), v.code); err != nil {
		t.Fatal(err)
	}
	return dir, v, s
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

// A copy saved before the server refused the activation (revoked),
// restored after: refused, and deleting either copy of the mark is not
// enough.
func TestRestoredCopyAfterRevocationRefused(t *testing.T) {
	ctx := context.Background()
	dir, v, s := activatedMarked(t)
	alive := snapshot(t, dir, recordFiles...)
	st, err := s.Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Service.Revoke(ctx, st.Record.ActivationID, ""); err != nil {
		t.Fatal(err)
	}
	v.clock.Add(25 * time.Hour)
	st, err = s.Status(ctx, true)
	wantKind(t, "the daily check", st, err, errs.NotActivated)

	restore(t, dir, alive)
	st, err = s.Status(ctx, false)
	wantKind(t, "the restored copy", st, err, errs.NotActivated)
	st, err = s.Check(ctx, nil)
	wantKind(t, "a program's start with the restored copy", st, err, errs.NotActivated)

	marks := snapshot(t, dir, "state/"+store.MarkFile, store.MarkFile)
	for name := range marks {
		restore(t, dir, marks)
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		// Another process, started afresh, reads what is left.
		st, err := v.markedService(dir, v.clock.Now).Status(ctx, false)
		wantKind(t, "the restored copy with "+name+" deleted", st, err, errs.NotActivated)
	}
	// The next write repaired the copy deleted last.
	v.clock.Add(time.Hour)
	if _, err := s.Status(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.MarkFile)); err != nil {
		t.Fatalf("the deleted copy was not written again: %v", err)
	}
	// Within its grace the copy works again once every copy of the mark is
	// deleted too (the limit docs/architecture.md states)...
	for _, name := range []string{"state/" + store.MarkFile, store.MarkFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	restore(t, dir, alive)
	if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("with every copy of the mark deleted: %v %v", err, st.Verdict.Err)
	}
	// ...until its check_by, and at once at the next online check.
	if st, err := s.Status(ctx, true); err != nil || !errs.Is(st.Verdict.Err, errs.NotActivated) {
		t.Fatalf("the next online check: %v %v", err, st.Verdict.Err)
	}
	restore(t, dir, alive)
	for _, name := range []string{"state/" + store.MarkFile, store.MarkFile} {
		os.Remove(filepath.Join(dir, name))
	}
	v.clock.Add(grace7)
	st, err = s.Status(ctx, false)
	wantKind(t, "the restored copy past its check_by", st, err, errs.GraceExpired)
}

// A copy from before a deactivation is refused too.
func TestRestoredCopyAfterDeactivationRefused(t *testing.T) {
	ctx := context.Background()
	dir, v, s := activatedMarked(t)
	alive := snapshot(t, dir, recordFiles...)
	v.clock.Add(time.Hour)
	if _, err := s.Deactivate(ctx); err != nil {
		t.Fatal(err)
	}
	restore(t, dir, alive)
	st, err := s.Status(ctx, false)
	wantKind(t, "the copy from before the deactivation", st, err, errs.NotActivated)
}

// An older genuine copy is refused as one; an online check brings the
// record up to date again.
func TestRestoredOlderCopyRefused(t *testing.T) {
	ctx := context.Background()
	dir, v, s := activatedMarked(t)
	old := snapshot(t, dir, recordFiles...)
	v.clock.Add(3 * 24 * time.Hour)
	st, err := s.Status(ctx, true)
	wantKind(t, "online check", st, err, errs.Other)
	v.clock.Add(time.Hour)
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
	dir, v, s := activatedMarked(t)
	old := snapshot(t, dir, recordFiles...)
	for range 5 { // offline use for five days
		v.clock.Add(24 * time.Hour)
		if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
			t.Fatalf("offline use: %v %v", err, st.Verdict.Err)
		}
	}
	restore(t, dir, old)
	v.clock.Add(-5*24*time.Hour + time.Hour)
	st, err := s.Status(ctx, false)
	wantKind(t, "the clock set back to the restored copy's time", st, err, errs.ClockRollback)
}

// A clock once far ahead leaves the mark there; activating again, with the
// clock put right, starts it again.
func TestActivateAgainAfterClockWasAhead(t *testing.T) {
	ctx := context.Background()
	dir, v, _ := activatedMarked(t)
	ahead := &clock{t: t0.Add(5 * 24 * time.Hour)}
	if _, err := v.markedService(dir, ahead.Now).Status(ctx, false); err != nil {
		t.Fatal(err)
	}
	s := v.markedService(dir, v.clock.Now)
	v.clock.Add(time.Hour)
	st, err := s.Status(ctx, false)
	wantKind(t, "the clock put right", st, err, errs.ClockRollback)
	if st, err := s.Activate(ctx, v.code); err != nil || !st.Verdict.Valid() {
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
	dir, v, _ := activatedMarked(t)
	const workers, rounds = 8, 12
	shared := v.markedService(dir, nil)
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
		own := v.markedService(dir, func() time.Time { return t0.Add(time.Duration(w+1) * time.Hour) })
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
	m, err := store.NewMarks(nil, machine, markCopies(dir)...).LoadMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Observe writes once MarkResolution has passed: the mark is at most
	// that far behind the latest reading, never further.
	if m.MaxSeen.Before(latest.Add(-licensing.MarkResolution)) || m.MaxSeen.After(latest) {
		t.Fatalf("mark at %v, latest reading %v: an update was lost", m.MaxSeen, latest)
	}
	for _, p := range markCopies(dir) {
		one, err := store.NewMarks(nil, machine, p).LoadMark(ctx)
		if err != nil || !one.MaxSeen.Equal(m.MaxSeen) {
			t.Errorf("copy %s at %v, want %v (%v)", p, one.MaxSeen, m.MaxSeen, err)
		}
	}
}
