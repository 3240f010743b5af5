package licensing

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// Marketplace is what the manager needs of the marketplace license API (the
// marketplace client, or a fake in tests).
type Marketplace interface {
	Activate(ctx context.Context, code string) (License, error)
	Query(ctx context.Context, code string) (License, error)
	ReportUsage(ctx context.Context, code, deviceID string) error
}

// RecordStore keeps the cached authorization (see package store).
type RecordStore interface {
	Load(ctx context.Context) (Record, error)
	Save(ctx context.Context, r Record) error
	Delete(ctx context.Context) error
	Kind() string
}

// Source says where a status came from.
type Source string

// Sources of a status.
const (
	SourceOnline Source = "online"
	SourceCache  Source = "cache"
)

// State is the answer to "may the software run": the cached record, the
// verdict of the offline rules, and where it came from.
type State struct {
	Record  Record
	Verdict Verdict
	Source  Source
	Storage string // "keyring" or "file"
	// OnlineErr is why an online check did not happen when the state comes
	// from the cache (nil otherwise).
	OnlineErr error
}

// Manager runs the activation and validation flows. Build one per process;
// it is safe for concurrent use.
type Manager struct {
	Market      Marketplace
	Store       RecordStore
	Fingerprint func(ctx context.Context) devinfo.Fingerprint
	// DeviceID returns the id sent in the daily usage report: a protected
	// machine id, never the raw one.
	DeviceID func() (string, error)
	Now      func() time.Time
	Grace    time.Duration
	Endpoint string
	Logger   *slog.Logger

	mu sync.Mutex // serialises load-modify-save of the record
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) log() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Activate activates code with the marketplace (idempotently), binds the
// answer to this machine's fingerprint and caches it, then sends the day's
// usage report (a failed report does not fail the activation).
func (m *Manager) Activate(ctx context.Context, code string) (State, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return State{}, err
	}
	l, err := m.Market.Activate(ctx, code)
	if err != nil {
		return State{}, err
	}
	if err := statusErr("activate", l); err != nil {
		return State{}, err
	}
	fp := m.Fingerprint(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	r := NewRecord(l, fp, m.Endpoint, now)
	m.report(ctx, &r, now)
	if err := m.Store.Save(ctx, r); err != nil {
		return State{}, err
	}
	return State{Record: r, Verdict: r.Validate(now, fp.Components, m.Grace), Source: SourceOnline, Storage: m.Store.Kind()}, nil
}

// statusErr turns a confirmed but unusable marketplace status into an error.
func statusErr(op string, l License) error {
	switch l.Status {
	case StatusAlive:
		return nil
	case StatusExpired:
		return errs.E(op, errs.Expired, fmt.Errorf("the license %s has expired", l.Code))
	case StatusReleased:
		return errs.E(op, errs.Released, fmt.Errorf("the license %s was released (refunded)", l.Code))
	}
	return errs.E(op, errs.Protocol, fmt.Errorf("unknown status %q", l.Status))
}

// Status validates the cached authorization. With online set it first asks
// the marketplace (and sends the day's usage report once a day); when the
// marketplace cannot be reached it falls back to the cache, which is valid
// within the grace period. A RELEASED or EXPIRED answer is saved and takes
// effect at once.
func (m *Manager) Status(ctx context.Context, online bool) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.Store.Load(ctx)
	if err != nil {
		return State{Storage: m.Store.Kind()}, err
	}
	now := m.now()
	st := State{Source: SourceCache, Storage: m.Store.Kind()}
	dirty := false
	if online {
		l, qerr := m.Market.Query(ctx, r.License)
		switch {
		case qerr == nil:
			r.Refresh(l, now)
			st.Source, dirty = SourceOnline, true
			m.report(ctx, &r, now)
		case errs.Is(qerr, errs.Unavailable) || errs.Is(qerr, errs.Protocol):
			st.OnlineErr = qerr
			m.log().Info("online check failed; using the cache", "err", qerr)
		default:
			// A definite answer (unknown code, credentials rejected): no
			// cache may cover it.
			st.Record = r
			return st, qerr
		}
	}
	fp := m.Fingerprint(ctx)
	st.Verdict = r.Validate(now, fp.Components, m.Grace)
	if r.Observe(now) {
		dirty = true
	}
	if dirty {
		if err := m.Store.Save(ctx, r); err != nil {
			return st, err
		}
	}
	st.Record = r
	if st.OnlineErr != nil && errs.Is(st.Verdict.Err, errs.GraceExpired) {
		// The gap is not covered: the marketplace is the problem to fix.
		st.Verdict.Err = errs.E("status", errs.Unavailable, fmt.Errorf("%s, and the marketplace cannot be reached: %v", st.Verdict.Reason(), st.OnlineErr))
	}
	return st, nil
}

// report sends the usage report when none was sent on this UTC day; a
// failure is logged and retried on the next use.
func (m *Manager) report(ctx context.Context, r *Record, now time.Time) {
	if sameDay(r.LastReportedAt, now) || m.DeviceID == nil {
		return
	}
	id, err := m.DeviceID()
	if err == nil {
		err = m.Market.ReportUsage(ctx, r.License, id)
	}
	if err != nil {
		m.log().Info("usage report failed; retried on the next use", "err", err)
		return
	}
	r.LastReportedAt = now
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}

// Check is what a start of the software calls: it validates offline at once
// and, on the first use of a UTC day, runs the online check and the usage
// report in the background (done receives its outcome; it may be nil). A
// failure there never blocks a start that is valid within the grace period.
func (m *Manager) Check(ctx context.Context, done chan<- error) (State, error) {
	st, err := m.Status(ctx, false)
	if err != nil || sameDay(st.Record.LastCheckedAt, m.now()) {
		if done != nil {
			done <- nil
		}
		return st, err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, err := m.Status(ctx, true)
		if err != nil {
			m.log().Info("daily check", "err", err)
		}
		if done != nil {
			done <- err
		}
	}()
	return st, nil
}

// Forget removes the cached authorization.
func (m *Manager) Forget(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.Store.Delete(ctx)
}
