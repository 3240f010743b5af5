package licensing

import (
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// RecordVersion is the format version of Record; a store refuses a record of
// another version rather than misreading it.
const RecordVersion = 1

// ClockTolerance is how far the clock may be behind the highest time a record
// has seen before the record refuses to work (clocks are corrected by NTP by
// seconds, not by minutes).
const ClockTolerance = 5 * time.Minute

// Record is the cached authorization: what the marketplace said about an
// activated license code, bound to this machine. Stores seal it; Validate
// decides offline whether the software may run.
type Record struct {
	Version       int       `json:"v"`
	License       string    `json:"license"`
	Status        Status    `json:"status"`
	ExpireTime    time.Time `json:"expire_time"`
	ProductID     string    `json:"product_id,omitempty"`
	OrderID       string    `json:"order_id,omitempty"`
	Amount        float64   `json:"amount,omitempty"`
	ActivatedAt   time.Time `json:"activated_at"`
	LastCheckedAt time.Time `json:"last_checked_at"` // last successful online check
	// LastReportedAt is the last successful daily usage report.
	LastReportedAt time.Time `json:"last_reported_at"`
	// Fingerprint is the fingerprint string the record is bound to, and
	// Components its parts.
	Fingerprint string             `json:"fingerprint"`
	Components  devinfo.Components `json:"components"`
	// MaxSeen is the highest clock time the record has seen.
	MaxSeen  time.Time `json:"max_seen"`
	Endpoint string    `json:"endpoint,omitempty"`
}

// NewRecord builds the record of a license the marketplace confirmed at now,
// bound to fp.
func NewRecord(l License, fp devinfo.Fingerprint, endpoint string, now time.Time) Record {
	now = now.UTC()
	activated := l.ActivateTime
	if activated.IsZero() || activated.After(now) {
		// The marketplace's clock, not ours: a time after our own reading
		// would make the record look edited (Validate refuses times in the
		// future), so it is kept no later than the moment we learnt it.
		activated = now
	}
	return Record{
		Version: RecordVersion, License: l.Code, Status: l.Status, ExpireTime: l.ExpireTime.UTC(),
		ProductID: l.ProductID, OrderID: l.OrderID, Amount: l.Amount,
		ActivatedAt: activated.UTC(), LastCheckedAt: now, Fingerprint: fp.String(),
		Components: fp.Components, MaxSeen: now, Endpoint: endpoint,
	}
}

// Refresh applies a successful online answer: the marketplace's status and
// expiry replace the cached ones.
func (r *Record) Refresh(l License, now time.Time) {
	r.Status = l.Status
	if !l.ExpireTime.IsZero() {
		r.ExpireTime = l.ExpireTime.UTC()
	}
	if l.ProductID != "" {
		r.ProductID = l.ProductID
	}
	if l.OrderID != "" {
		r.OrderID = l.OrderID
	}
	r.LastCheckedAt = now.UTC()
	r.Observe(now)
}

// Observe raises MaxSeen to now. It reports whether the record changed enough
// to be worth saving (once an hour), so that every start does not write.
func (r *Record) Observe(now time.Time) bool {
	if now.After(r.MaxSeen) {
		worth := now.Sub(r.MaxSeen) >= time.Hour
		r.MaxSeen = now.UTC()
		return worth
	}
	return false
}

// Verdict is the outcome of Validate.
type Verdict struct {
	// Err is nil when the software may run; otherwise a *Error whose Kind says
	// why not and whose text is a sentence for people.
	Err error
	// Changed names the fingerprint parts that differ from the bound
	// fingerprint (mac, disk, board, cpu), even when the machine is accepted.
	Changed []string
	// GraceLeft is how much of the offline grace period remains.
	GraceLeft time.Duration
}

// Valid reports whether the software may run.
func (v Verdict) Valid() bool { return v.Err == nil }

// Reason is the human sentence of Err ("" when valid).
func (v Verdict) Reason() string {
	if v.Err == nil {
		return ""
	}
	if e, ok := v.Err.(*errs.Error); ok && e.Err != nil {
		return e.Err.Error()
	}
	return v.Err.Error()
}

// Validate applies the offline rules to the record alone; see ValidateSeen.
func (r Record) Validate(now time.Time, current devinfo.Components, grace time.Duration) Verdict {
	return r.ValidateSeen(Mark{}, now, current, grace)
}

// ValidateSeen applies the offline rules in order, with the clock injected
// and seen, what this machine remembers outside the record (the zero Mark
// when nothing): fingerprint (tolerance policy) → clock not set back, before
// the record's MaxSeen or seen's → no time in the record later than now →
// not older than what seen knows of the code → status ALIVE → not expired →
// last online check within grace. The seal is checked by the store before
// a Record exists.
//
// A time in the record past now (beyond ClockTolerance) is refused as
// Tampered, not ClockRollback: every time a record carries was our clock's
// reading when it was written (ActivatedAt is kept no later, see
// NewRecord), and so is at most its MaxSeen; a clock set back behind such a
// time is behind MaxSeen too and is reported as ClockRollback first. What
// reaches this rule is a record whose times disagree with each other,
// which only an edit makes.
func (r Record) ValidateSeen(seen Mark, now time.Time, current devinfo.Components, grace time.Duration) Verdict {
	const op = "validate"
	cmp := devinfo.Compare(r.Components, current)
	v := Verdict{Changed: cmp.ChangedParts()}
	fail := func(k errs.Kind, format string, a ...any) Verdict {
		v.Err = errs.E(op, k, fmt.Errorf(format, a...))
		return v
	}
	if !cmp.SameMachine {
		return fail(errs.WrongMachine, "the authorization is bound to another machine (changed: %v); activate the license on this machine", v.Changed)
	}
	if now.Before(r.MaxSeen.Add(-ClockTolerance)) {
		return fail(errs.ClockRollback, "the system clock (%s) is earlier than a time this authorization has already seen (%s): correct the clock",
			now.UTC().Format(time.RFC3339), r.MaxSeen.UTC().Format(time.RFC3339))
	}
	if now.Before(seen.MaxSeen.Add(-ClockTolerance)) {
		return fail(errs.ClockRollback, "the system clock (%s) is earlier than a time this machine has already seen (%s): correct the clock",
			now.UTC().Format(time.RFC3339), seen.MaxSeen.UTC().Format(time.RFC3339))
	}
	for _, t := range []struct {
		what string
		at   time.Time
	}{{"its last online check", r.LastCheckedAt}, {"its activation", r.ActivatedAt}, {"its last usage report", r.LastReportedAt}} {
		if t.at.After(now.Add(ClockTolerance)) {
			return fail(errs.Tampered, "the cached authorization says %s was at %s, later than the current time (%s): it was edited; activate the license again",
				t.what, t.at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if known, ok := seen.Known(r.License); ok {
		day := known.CheckedAt.UTC().Format("2006-01-02")
		switch {
		case r.Status == StatusAlive && known.Status == StatusReleased:
			return fail(errs.Released, "the license was released (refunded) and can no longer be used: the marketplace said so on %s, and this cached authorization is an older copy", day)
		case r.Status == StatusAlive && known.Status == StatusExpired:
			return fail(errs.Expired, "the license has expired: the marketplace said so on %s, and this cached authorization is an older copy", day)
		case r.LastCheckedAt.Before(known.CheckedAt.Add(-ClockTolerance)):
			return fail(errs.Tampered, "the cached authorization is an older copy (its last online check was on %s, this machine has seen one on %s): check online, or activate the license again",
				r.LastCheckedAt.UTC().Format(time.RFC3339), known.CheckedAt.UTC().Format(time.RFC3339))
		}
	}
	switch r.Status {
	case StatusAlive:
	case StatusExpired:
		return fail(errs.Expired, "the license expired on %s", r.ExpireTime.UTC().Format("2006-01-02"))
	case StatusReleased:
		return fail(errs.Released, "the license was released (refunded) and can no longer be used")
	default:
		return fail(errs.NotActivated, "the marketplace reports status %q for this license", r.Status)
	}
	if !r.ExpireTime.IsZero() && !now.Before(r.ExpireTime) {
		return fail(errs.Expired, "the license expired on %s", r.ExpireTime.UTC().Format("2006-01-02"))
	}
	v.GraceLeft = r.LastCheckedAt.Add(grace).Sub(now)
	if v.GraceLeft <= 0 {
		v.GraceLeft = 0
		return fail(errs.GraceExpired, "no successful online check since %s (grace period %s): connect to the network and check again",
			r.LastCheckedAt.UTC().Format(time.RFC3339), grace)
	}
	return v
}
