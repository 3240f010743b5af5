package licensing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

func markOf(maxSeen time.Time, known map[string]Known) Mark {
	return Mark{Version: MarkVersion, MaxSeen: maxSeen, Activations: known}
}

// The rules of what the machine remembers outside the record.
func TestValidateSeenRules(t *testing.T) {
	day := 24 * time.Hour
	next := func(r *Record) { *r = recordOf(t, claimsAt(t0.Add(day)), vendor) } // a token of the next day
	tests := []struct {
		name   string
		edit   func(r *Record)
		seen   Mark
		now    time.Time
		kind   errs.Kind // errs.Other means valid
		reason string
	}{
		{"nothing seen", nil, Mark{}, t0.Add(time.Hour), errs.Other, ""},
		{"the mark agrees", nil, markOf(t0.Add(time.Hour), map[string]Known{Key("act-1"): {StatusAlive, t0}}), t0.Add(time.Hour), errs.Other, ""},
		{"another activation's state does not count", nil, markOf(t0, map[string]Known{Key("act-2"): {StatusRevoked, t0.Add(day)}}), t0.Add(time.Hour), errs.Other, ""},
		// The record restored with an old MaxSeen and the clock set back:
		// the machine remembers the later time.
		{"clock behind the machine's mark", nil, markOf(t0.Add(3*day), nil), t0.Add(day), errs.ClockRollback, "this machine has already seen"},
		{"clock 4 minutes behind the mark is tolerated", nil, markOf(t0.Add(time.Hour+4*time.Minute), nil), t0.Add(time.Hour), errs.Other, ""},
		// A refusal seen online, then a copy from before restored.
		{"released after this copy", nil, markOf(t0.Add(2*day), map[string]Known{Key("act-1"): {StatusReleased, t0.Add(2 * day)}}), t0.Add(2 * day), errs.Released, "older copy"},
		{"revoked after this copy", nil, markOf(t0.Add(2*day), map[string]Known{Key("act-1"): {StatusRevoked, t0.Add(2 * day)}}), t0.Add(2 * day), errs.NotActivated, "revoked"},
		{"deactivated after this copy", nil, markOf(t0.Add(2*day), map[string]Known{Key("act-1"): {StatusDeactivated, t0.Add(2 * day)}}), t0.Add(2 * day), errs.NotActivated, "freed"},
		{"moved after this copy", nil, markOf(t0.Add(2*day), map[string]Known{Key("act-1"): {StatusMoved, t0.Add(2 * day)}}), t0.Add(2 * day), errs.WrongMachine, "moved"},
		{"expired after this copy", nil, markOf(t0.Add(2*day), map[string]Known{Key("act-1"): {StatusExpired, t0.Add(2 * day)}}), t0.Add(2 * day), errs.Expired, "older copy"},
		{"revoked, even for a copy issued later", next, markOf(t0.Add(day), map[string]Known{Key("act-1"): {StatusRevoked, t0.Add(time.Hour)}}), t0.Add(day), errs.NotActivated, "revoked"},
		{"an older ALIVE copy", nil, markOf(t0.Add(3*day), map[string]Known{Key("act-1"): {StatusAlive, t0.Add(3 * day)}}), t0.Add(3 * day), errs.Tampered, "older copy"},
		{"a copy 4 minutes older is tolerated", nil, markOf(t0.Add(time.Hour), map[string]Known{Key("act-1"): {StatusAlive, t0.Add(4 * time.Minute)}}), t0.Add(time.Hour), errs.Other, ""},
		{"a newer copy", next, markOf(t0.Add(day), map[string]Known{Key("act-1"): {StatusAlive, t0}}), t0.Add(day), errs.Other, ""},
		// The token's own rules come first.
		{"a forged token with a mark", func(r *Record) { *r = recordOf(t, claimsAt(t0), keyOf(9)) }, markOf(t0, map[string]Known{Key("act-1"): {StatusAlive, t0}}), t0.Add(time.Hour), errs.Tampered, "server_key"},
		{"grace counts from the token", nil, markOf(t0, map[string]Known{Key("act-1"): {StatusAlive, t0}}), t0.Add(grace7), errs.GraceExpired, "no successful check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord(t)
			if tt.edit != nil {
				tt.edit(&r)
			}
			v := r.Validate(pinned, tt.seen, tt.now, here, 0)
			if tt.kind == errs.Other {
				if !v.Valid() {
					t.Fatalf("invalid: %v", v.Err)
				}
			} else if errs.KindOf(v.Err) != tt.kind {
				t.Fatalf("kind %v (%v), want %v", errs.KindOf(v.Err), v.Err, tt.kind)
			}
			if !strings.Contains(v.Reason(), tt.reason) {
				t.Errorf("reason %q lacks %q", v.Reason(), tt.reason)
			}
		})
	}
}

func TestMarkObserve(t *testing.T) {
	var m Mark
	if !m.Observe(t0) || !m.MaxSeen.Equal(t0) {
		t.Fatalf("first reading: %v", m.MaxSeen)
	}
	if m.Observe(t0.Add(30 * time.Second)) {
		t.Error("30 seconds later is not worth a write")
	}
	if !m.MaxSeen.Equal(t0.Add(30 * time.Second)) {
		t.Error("MaxSeen not raised")
	}
	if !m.Observe(t0.Add(2 * time.Minute)) {
		t.Error("a minute and a half later is worth a write")
	}
	if m.Observe(t0) || !m.MaxSeen.Equal(t0.Add(2*time.Minute)) {
		t.Error("MaxSeen went back")
	}
}

func TestMarkAnswerLearnRestart(t *testing.T) {
	var m Mark
	if !m.Answer("A", StatusAlive, t0) || m.Answer("A", StatusAlive, t0) {
		t.Fatal("a new answer changes the mark, the same one again does not")
	}
	// An answer read with the clock a little behind: the status is the
	// newest, the check time never goes back.
	m.Answer("A", StatusReleased, t0.Add(-time.Minute))
	if got := m.Activations[Key("A")]; got.Status != StatusReleased || !got.CheckedAt.Equal(t0) {
		t.Fatalf("after a later answer: %+v", got)
	}
	// A record never turns a released code back, however new it says it is.
	if m.Learn("A", StatusAlive, t0.AddDate(0, 0, 3)) || m.Activations[Key("A")].Status != StatusReleased {
		t.Fatalf("learnt ALIVE over RELEASED: %+v", m.Activations[Key("A")])
	}
	// The marketplace does.
	m.Answer("A", StatusAlive, t0.Add(time.Hour))
	if m.Activations[Key("A")].Status != StatusAlive {
		t.Fatalf("the marketplace's ALIVE: %+v", m.Activations[Key("A")])
	}
	// Learning: an unknown code, a newer check; never an older one.
	if !m.Learn("B", StatusAlive, t0) || !m.Learn("B", StatusExpired, t0.Add(time.Hour)) || m.Learn("B", StatusAlive, t0.Add(2*time.Hour)) {
		t.Fatalf("learning B: %+v", m.Activations[Key("B")])
	}
	if m.Learn("A", StatusAlive, t0) {
		t.Fatal("learnt an older check")
	}
	// A fresh activation starts the clock and the code again.
	m.Observe(t0.AddDate(30, 0, 0))
	m.Restart("B", StatusAlive, t0.Add(3*time.Hour), t0.Add(3*time.Hour))
	if !m.MaxSeen.Equal(t0.Add(3*time.Hour)) || m.Activations[Key("B")] != (Known{StatusAlive, t0.Add(3 * time.Hour)}) {
		t.Fatalf("after Restart: %+v", m)
	}
}

// A mark remembers MaxMarked codes, dropping the ones checked longest
// ago.
func TestMarkKeepsNewestCodes(t *testing.T) {
	var m Mark
	for i := range MaxMarked + 5 {
		m.Answer(fmt.Sprintf("PL%02d", i), StatusAlive, t0.Add(time.Duration(i)*time.Hour))
	}
	if len(m.Activations) != MaxMarked {
		t.Fatalf("%d codes", len(m.Activations))
	}
	for i := range 5 {
		if _, ok := m.Known(fmt.Sprintf("PL%02d", i)); ok {
			t.Errorf("PL%02d kept", i)
		}
	}
}

// Merging copies keeps the tightest of each: a stale copy (restored from a
// backup) never loosens the others.
func TestMergeMarks(t *testing.T) {
	fresh := markOf(t0.Add(48*time.Hour), map[string]Known{Key("A"): {StatusReleased, t0.Add(48 * time.Hour)}, "B": {StatusAlive, t0}})
	stale := markOf(t0, map[string]Known{Key("A"): {StatusAlive, t0}, "C": {StatusAlive, t0}})
	for _, order := range [][]Mark{{fresh, stale}, {stale, fresh}} {
		m := MergeMarks(order...)
		if !m.MaxSeen.Equal(fresh.MaxSeen) || m.Activations[Key("A")].Status != StatusReleased || len(m.Activations) != 3 || m.Version != MarkVersion {
			t.Fatalf("merged %+v", m)
		}
	}
	tie := markOf(t0, map[string]Known{Key("B"): {StatusExpired, t0}})
	for _, order := range [][]Mark{{fresh, tie}, {tie, fresh}} {
		if m := MergeMarks(order...); m.Activations[Key("B")].Status != StatusExpired {
			t.Fatalf("a tie went to ALIVE: %+v", m.Activations[Key("B")])
		}
	}
	if m := MergeMarks(); !m.MaxSeen.IsZero() || len(m.Activations) != 0 {
		t.Fatalf("no copies: %+v", m)
	}
}

// BenchmarkValidateSeen is BenchmarkValidateOffline with a full clock mark.
func BenchmarkValidateSeen(b *testing.B) {
	r := testRecord(b)
	var seen Mark
	seen.Observe(t0)
	for i := range MaxMarked - 1 {
		seen.Answer(fmt.Sprintf("PLOTHER%d", i), StatusReleased, t0)
	}
	seen.Answer(r.ActivationID, StatusAlive, t0)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if v := r.Validate(pinned, seen, now, here, grace7); !v.Valid() {
			b.Fatal(v.Err)
		}
	}
}
