package licensing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

func markOf(maxSeen time.Time, codes map[string]CodeMark) Mark {
	return Mark{Version: MarkVersion, MaxSeen: maxSeen, Codes: codes}
}

// The rules of what the machine remembers outside the record.
func TestValidateSeenRules(t *testing.T) {
	const grace = 7 * 24 * time.Hour
	day := 24 * time.Hour
	tests := []struct {
		name   string
		edit   func(r *Record)
		seen   Mark
		now    time.Time
		kind   errs.Kind // errs.Other means valid
		reason string
	}{
		{"nothing seen", nil, Mark{}, t0.Add(time.Hour), errs.Other, ""},
		{"the mark agrees", nil, markOf(t0.Add(time.Hour), map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0}}), t0.Add(time.Hour), errs.Other, ""},
		{"another code's state does not count", nil, markOf(t0, map[string]CodeMark{CodeKey("PL2"): {StatusReleased, t0.Add(day)}}), t0.Add(time.Hour), errs.Other, ""},
		// The record restored with an old MaxSeen and the clock set back:
		// the machine remembers the later time.
		{"clock behind the machine's mark", nil, markOf(t0.Add(3*day), nil), t0.Add(day), errs.ClockRollback, "this machine has already seen"},
		{"clock 4 minutes behind the mark is tolerated", nil, markOf(t0.Add(time.Hour+4*time.Minute), nil), t0.Add(time.Hour), errs.Other, ""},
		// A release seen online, then an ALIVE copy from before restored.
		{"released after this copy", nil, markOf(t0.Add(2*day), map[string]CodeMark{CodeKey("PL1"): {StatusReleased, t0.Add(2 * day)}}), t0.Add(2 * day), errs.Released, "older copy"},
		{"released, even for a copy dated later", func(r *Record) { r.LastCheckedAt = t0.Add(3 * day) }, markOf(t0.Add(3*day), map[string]CodeMark{CodeKey("PL1"): {StatusReleased, t0.Add(2 * day)}}), t0.Add(3 * day), errs.Released, "released"},
		{"expired after this copy", nil, markOf(t0.Add(2*day), map[string]CodeMark{CodeKey("PL1"): {StatusExpired, t0.Add(2 * day)}}), t0.Add(2 * day), errs.Expired, "older copy"},
		{"a released record is released", func(r *Record) { r.Status = StatusReleased }, markOf(t0, map[string]CodeMark{CodeKey("PL1"): {StatusReleased, t0}}), t0, errs.Released, "released"},
		{"an older ALIVE copy", nil, markOf(t0.Add(3*day), map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0.Add(3 * day)}}), t0.Add(3 * day), errs.Tampered, "older copy"},
		{"a copy 4 minutes older is tolerated", nil, markOf(t0.Add(time.Hour), map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0.Add(4 * time.Minute)}}), t0.Add(time.Hour), errs.Other, ""},
		{"a newer copy", func(r *Record) { r.LastCheckedAt = t0.Add(day) }, markOf(t0.Add(day), map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0}}), t0.Add(day), errs.Other, ""},
		// The fingerprint comes first, and the record's own rules stay.
		{"a forged future check with a mark", func(r *Record) { r.LastCheckedAt = t0.AddDate(50, 0, 0) }, markOf(t0, map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0}}), t0.Add(time.Hour), errs.Tampered, "edited"},
		{"grace counts from the record", nil, markOf(t0, map[string]CodeMark{CodeKey("PL1"): {StatusAlive, t0}}), t0.Add(grace), errs.GraceExpired, "no successful online check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord()
			if tt.edit != nil {
				tt.edit(&r)
			}
			v := r.ValidateSeen(tt.seen, tt.now, here, grace)
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
	if got := m.Codes[CodeKey("A")]; got.Status != StatusReleased || !got.CheckedAt.Equal(t0) {
		t.Fatalf("after a later answer: %+v", got)
	}
	// A record never turns a released code back, however new it says it is.
	if m.Learn("A", StatusAlive, t0.AddDate(0, 0, 3)) || m.Codes[CodeKey("A")].Status != StatusReleased {
		t.Fatalf("learnt ALIVE over RELEASED: %+v", m.Codes[CodeKey("A")])
	}
	// The marketplace does.
	m.Answer("A", StatusAlive, t0.Add(time.Hour))
	if m.Codes[CodeKey("A")].Status != StatusAlive {
		t.Fatalf("the marketplace's ALIVE: %+v", m.Codes[CodeKey("A")])
	}
	// Learning: an unknown code, a newer check; never an older one.
	if !m.Learn("B", StatusAlive, t0) || !m.Learn("B", StatusExpired, t0.Add(time.Hour)) || m.Learn("B", StatusAlive, t0.Add(2*time.Hour)) {
		t.Fatalf("learning B: %+v", m.Codes[CodeKey("B")])
	}
	if m.Learn("A", StatusAlive, t0) {
		t.Fatal("learnt an older check")
	}
	// A fresh activation starts the clock and the code again.
	m.Observe(t0.AddDate(30, 0, 0))
	m.Restart("B", StatusAlive, t0.Add(3*time.Hour))
	if !m.MaxSeen.Equal(t0.Add(3*time.Hour)) || m.Codes[CodeKey("B")] != (CodeMark{StatusAlive, t0.Add(3 * time.Hour)}) {
		t.Fatalf("after Restart: %+v", m)
	}
}

// A mark remembers MaxMarkedCodes codes, dropping the ones checked longest
// ago.
func TestMarkKeepsNewestCodes(t *testing.T) {
	var m Mark
	for i := range MaxMarkedCodes + 5 {
		m.Answer(fmt.Sprintf("PL%02d", i), StatusAlive, t0.Add(time.Duration(i)*time.Hour))
	}
	if len(m.Codes) != MaxMarkedCodes {
		t.Fatalf("%d codes", len(m.Codes))
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
	fresh := markOf(t0.Add(48*time.Hour), map[string]CodeMark{CodeKey("A"): {StatusReleased, t0.Add(48 * time.Hour)}, "B": {StatusAlive, t0}})
	stale := markOf(t0, map[string]CodeMark{CodeKey("A"): {StatusAlive, t0}, "C": {StatusAlive, t0}})
	for _, order := range [][]Mark{{fresh, stale}, {stale, fresh}} {
		m := MergeMarks(order...)
		if !m.MaxSeen.Equal(fresh.MaxSeen) || m.Codes[CodeKey("A")].Status != StatusReleased || len(m.Codes) != 3 || m.Version != MarkVersion {
			t.Fatalf("merged %+v", m)
		}
	}
	tie := markOf(t0, map[string]CodeMark{CodeKey("B"): {StatusExpired, t0}})
	for _, order := range [][]Mark{{fresh, tie}, {tie, fresh}} {
		if m := MergeMarks(order...); m.Codes[CodeKey("B")].Status != StatusExpired {
			t.Fatalf("a tie went to ALIVE: %+v", m.Codes[CodeKey("B")])
		}
	}
	if m := MergeMarks(); !m.MaxSeen.IsZero() || len(m.Codes) != 0 {
		t.Fatalf("no copies: %+v", m)
	}
}

// BenchmarkValidateSeen is BenchmarkValidateOffline with a full clock mark.
func BenchmarkValidateSeen(b *testing.B) {
	r := testRecord()
	var seen Mark
	seen.Observe(t0)
	for i := range MaxMarkedCodes - 1 {
		seen.Answer(fmt.Sprintf("PLOTHER%d", i), StatusReleased, t0)
	}
	seen.Answer(r.License, StatusAlive, t0)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if v := r.ValidateSeen(seen, now, here, 7*24*time.Hour); !v.Valid() {
			b.Fatal(v.Err)
		}
	}
}
