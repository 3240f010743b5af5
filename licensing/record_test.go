package licensing

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
)

var (
	t0   = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	here = devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"DISK1"}, Board: "BOARD1", CPU: "CPU1"}
)

func testRecord() Record {
	l := License{Code: "PL1", Status: StatusAlive, ExpireTime: t0.AddDate(1, 0, 0), ProductID: "P", OrderID: "O", Amount: 1}
	return NewRecord(l, devinfo.Render(here), "http://127.0.0.1:1", t0)
}

func TestValidateRules(t *testing.T) {
	const grace = 7 * 24 * time.Hour
	newNIC := here
	newNIC.MAC = []string{"02:00:00:00:00:99"}
	newBoardDisk := here
	newBoardDisk.Board, newBoardDisk.Disk = "BOARD2", []string{"DISK2"}
	tests := []struct {
		name    string
		edit    func(r *Record)
		now     time.Time
		current devinfo.Components
		kind    errs.Kind // errs.Other means valid
		changed []string
		reason  string
	}{
		{"fresh", nil, t0.Add(time.Hour), here, errs.Other, []string{}, ""},
		{"grace almost over", nil, t0.Add(grace - time.Minute), here, errs.Other, []string{}, ""},
		{"grace running out", nil, t0.Add(grace), here, errs.GraceExpired, []string{}, "no successful online check"},
		{"expired by date", nil, t0.AddDate(1, 0, 0), here, errs.Expired, []string{}, "expired on 2027-11-23"},
		{"expired by marketplace", func(r *Record) { r.Status = StatusExpired }, t0, here, errs.Expired, []string{}, "expired"},
		{"released", func(r *Record) { r.Status = StatusReleased }, t0, here, errs.Released, []string{}, "released"},
		{"unknown status", func(r *Record) { r.Status = "FROZEN" }, t0, here, errs.NotActivated, []string{}, "FROZEN"},
		{"clock set back an hour", func(r *Record) { r.MaxSeen = t0.Add(2 * time.Hour) }, t0.Add(time.Hour), here, errs.ClockRollback, []string{}, "earlier than"},
		{"clock 4 minutes behind is tolerated", func(r *Record) { r.MaxSeen = t0.Add(4 * time.Minute) }, t0, here, errs.Other, []string{}, ""},
		{"changed NIC tolerated", nil, t0, newNIC, errs.Other, []string{"mac"}, ""},
		// Times in the record later than now: refused as an edit (issue 11,
		// finding 6: a forged record stayed valid 50 years ahead).
		{"forged: last check 50 years ahead", func(r *Record) { r.LastCheckedAt = t0.AddDate(50, 0, 0) }, t0.Add(time.Hour), here, errs.Tampered, []string{}, "edited"},
		{"forged: last check a day ahead", func(r *Record) { r.LastCheckedAt = t0.Add(25 * time.Hour) }, t0.Add(time.Hour), here, errs.Tampered, []string{}, "last online check"},
		{"forged: activated in the future", func(r *Record) { r.ActivatedAt = t0.AddDate(0, 1, 0) }, t0.Add(time.Hour), here, errs.Tampered, []string{}, "activation"},
		{"forged: usage reported in the future", func(r *Record) { r.LastReportedAt = t0.AddDate(0, 0, 2) }, t0.Add(time.Hour), here, errs.Tampered, []string{}, "usage report"},
		{"last check 4 minutes ahead is tolerated", func(r *Record) { r.LastCheckedAt = t0.Add(4 * time.Minute) }, t0, here, errs.Other, []string{}, ""},
		// The clock set back behind a check: the record's MaxSeen says so first.
		{"clock set back behind the last check", func(r *Record) { r.LastCheckedAt, r.MaxSeen = t0.Add(2*time.Hour), t0.Add(2*time.Hour) }, t0, here, errs.ClockRollback, []string{}, "earlier than"},
		{"changed board and disk refused", nil, t0, newBoardDisk, errs.WrongMachine, []string{"disk", "board"}, "another machine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord()
			if tt.edit != nil {
				tt.edit(&r)
			}
			v := r.Validate(tt.now, tt.current, grace)
			if tt.kind == errs.Other {
				if !v.Valid() {
					t.Fatalf("invalid: %v", v.Err)
				}
			} else if errs.KindOf(v.Err) != tt.kind {
				t.Fatalf("kind %v (%v), want %v", errs.KindOf(v.Err), v.Err, tt.kind)
			}
			if !slices.Equal(v.Changed, tt.changed) {
				t.Errorf("changed %v, want %v", v.Changed, tt.changed)
			}
			if !strings.Contains(v.Reason(), tt.reason) {
				t.Errorf("reason %q lacks %q", v.Reason(), tt.reason)
			}
		})
	}
}

// The marketplace's activation time is its clock's: one ahead of ours must
// not make a fresh record look edited.
func TestNewRecordKeepsActivationInThePast(t *testing.T) {
	l := License{Code: "PL1", Status: StatusAlive, ExpireTime: t0.AddDate(1, 0, 0), ActivateTime: t0.Add(10 * time.Minute)}
	r := NewRecord(l, devinfo.Render(here), "", t0)
	if !r.ActivatedAt.Equal(t0) {
		t.Errorf("activated at %v, want %v", r.ActivatedAt, t0)
	}
	if v := r.Validate(t0, here, time.Hour); !v.Valid() {
		t.Errorf("fresh record: %v", v.Err)
	}
	l.ActivateTime = t0.Add(-time.Hour)
	if r := NewRecord(l, devinfo.Render(here), "", t0); !r.ActivatedAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("an earlier activation time changed: %v", r.ActivatedAt)
	}
}

func TestRefreshAndObserve(t *testing.T) {
	r := testRecord()
	if r.Observe(t0.Add(time.Minute)) {
		t.Error("a minute later is not worth a write")
	}
	if !r.Observe(t0.Add(2 * time.Hour)) {
		t.Error("two hours later is worth a write")
	}
	if r.Observe(t0) || !r.MaxSeen.Equal(t0.Add(2*time.Hour)) {
		t.Error("MaxSeen went back")
	}
	r.Refresh(License{Status: StatusReleased}, t0.Add(3*time.Hour))
	if r.Status != StatusReleased || !r.LastCheckedAt.Equal(t0.Add(3*time.Hour)) || r.ExpireTime.IsZero() {
		t.Errorf("refresh: %+v", r)
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{" PL0123-abc_X \n": "PL0123-abc_X", strings.Repeat("A", 64): strings.Repeat("A", 64)} {
		if got, err := NormalizeCode(in); err != nil || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("A", 65), "PL 12", "PL\x00", "PL/../x", "ＰＬ１", "PL;rm"} {
		if _, err := NormalizeCode(bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("NormalizeCode(%q) = %v", bad, err)
		}
	}
}

func BenchmarkValidateOffline(b *testing.B) {
	r := testRecord()
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if v := r.Validate(now, here, 7*24*time.Hour); !v.Valid() {
			b.Fatal(v.Err)
		}
	}
}
