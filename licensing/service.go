package licensing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filelock"
)

// Marketplace is what the service needs of the marketplace license API (the
// marketplace client, or a fake in tests).
type Marketplace interface {
	Activate(ctx context.Context, code string) (License, error)
	Query(ctx context.Context, code string) (License, error)
	ReportUsage(ctx context.Context, code, deviceID string) error
}

// RecordStore keeps the cached authorization (package store has the OS
// keyring and the encrypted-file implementations). Calls are not
// serialised by the store: the Service does that.
type RecordStore interface {
	// Load returns the record, or an error of kind NotActivated (none cached),
	// Tampered, WrongMachine or Storage.
	Load(ctx context.Context) (Record, error)
	// Save replaces the record atomically.
	Save(ctx context.Context, r Record) error
	// Delete removes the record; removing none is not an error.
	Delete(ctx context.Context) error
	// Kind names the storage for people and the CLI: "keyring" or "file"
	// ("" while it is not known yet).
	Kind() string
}

// Settings are the configured values the flows read. The service asks for
// them at the start of every flow, so a change (the window's Settings
// screen) applies to the next call without building a new service.
type Settings struct {
	// Endpoint is the configured marketplace base URL; "" means the endpoint
	// that issued the cached authorization, else the default marketplace.
	Endpoint string
	// Grace is the offline grace period.
	Grace time.Duration
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

// DefaultLockWait bounds the wait for the record's lock when
// Service.LockWait is zero. Holders keep it for the few milliseconds of a
// load and a save, never across a network call.
const DefaultLockWait = 10 * time.Second

// Service runs the activation and validation flows. Build one per process
// and hand it to every part that needs it (the CLI command, the window, the
// agent); it is safe for concurrent use.
//
// Every read-modify-write of the cached record, and of the clock mark
// kept apart from it (Marks), goes through it and holds its lock: the
// mutex within the process and, when LockFile is set, an OS file lock
// shared with other processes (the CLI and a running window).
// Network calls happen outside the lock; what they bring back is applied to
// the record as it is after them, so a record removed meanwhile stays
// removed.
type Service struct {
	Store RecordStore
	// Marks keeps the clock mark (Mark) apart from the record, so that a
	// restored older copy of the record cannot turn the clock or a code's
	// state back. Nil keeps none: the record's own MaxSeen is then the
	// only memory of time.
	Marks MarkStore
	// Settings returns the current settings; nil means the defaults (the
	// endpoint of the record, a grace period of zero).
	Settings func() (Settings, error)
	// Market returns the marketplace at endpoint ("" is the default
	// marketplace) with the current credentials. It is called for every
	// online flow.
	Market func(ctx context.Context, endpoint string) (Marketplace, error)
	// DefaultEndpoint is recorded as the issuer of an authorization
	// activated with the endpoint "".
	DefaultEndpoint string
	// LockFile is the lock file shared with other processes; "" locks
	// within this Service only.
	LockFile string
	// LockWait bounds the wait for the lock (DefaultLockWait when zero):
	// past it a flow fails with kind Busy.
	LockWait time.Duration

	Fingerprint func(ctx context.Context) devinfo.Fingerprint
	// DeviceID returns the id sent in the daily usage report: a protected
	// machine id, never the raw one.
	DeviceID func() (string, error)
	Now      func() time.Time
	Logger   *slog.Logger

	// The lock within the process (see lock): a one-slot semaphore rather
	// than a mutex, so a caller waiting for it can give up.
	semOnce sync.Once
	sem     chan struct{}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) settings() (Settings, error) {
	if s.Settings == nil {
		return Settings{}, nil
	}
	return s.Settings()
}

// lock takes the record's lock: the mutex, then the lock file. It fails
// with kind Busy when another process holds the file past LockWait, and
// with kind Canceled when ctx is cancelled meanwhile.
func (s *Service) lock(ctx context.Context) (unlock func(), err error) {
	wait := s.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	s.semOnce.Do(func() { s.sem = make(chan struct{}, 1) })
	select {
	case s.sem <- struct{}{}:
	case <-lctx.Done():
		return nil, s.lockErr(ctx, wait, lctx.Err())
	}
	inProcess := func() { <-s.sem }
	if s.LockFile == "" {
		return inProcess, nil
	}
	release, err := filelock.Lock(lctx, s.LockFile)
	if errors.Is(err, filelock.ErrCannotOpen) {
		// A read-only home, or a lock file root left behind: the record
		// may still be readable, so go on with the in-process lock alone
		// rather than lock the user out of their license.
		s.log().Warn("license: going on without the cross-process lock", "err", err)
		return inProcess, nil
	}
	if err != nil {
		inProcess()
		return nil, s.lockErr(ctx, wait, err)
	}
	return func() { release(); inProcess() }, nil
}

// lockErr is why lock failed: the caller gave up (Canceled), the holder kept
// it past wait (Busy), or the lock file failed (Storage).
func (s *Service) lockErr(ctx context.Context, wait time.Duration, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return errs.E("license.lock", errs.Canceled, fmt.Errorf("gave up waiting while another iscdesk call held the authorization (%w)", ctx.Err()))
	case errors.Is(err, context.DeadlineExceeded):
		return errs.E("license.lock", errs.Busy, fmt.Errorf("another iscdesk call kept the authorization locked for %s: try again", wait))
	}
	return errs.E("license.lock", errs.Storage, err)
}

// Activate activates code with the marketplace of the settings; see
// ActivateAt.
func (s *Service) Activate(ctx context.Context, code string) (State, error) {
	return s.ActivateAt(ctx, "", code)
}

// ActivateAt activates code with the marketplace at endpoint ("" means the
// configured one, else the default) idempotently, binds the answer to this
// machine's fingerprint and caches it, replacing any cached authorization,
// then sends the day's usage report (a failed report does not fail the
// activation). A malformed code is refused (kind Invalid) before any call.
func (s *Service) ActivateAt(ctx context.Context, endpoint, code string) (State, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return State{}, err
	}
	// A fingerprint without a unit part binds to no machine
	// (devinfo.Compare): refuse before the marketplace activates the code.
	fp := s.Fingerprint(ctx)
	if fp.Components.Units() == 0 {
		return State{}, errs.E("activate", errs.WrongMachine, errors.New(
			"this machine's fingerprint names no network card, disk or board, so no license can be bound to it (see `iscdesk fingerprint --verbose`)"))
	}
	set, err := s.settings()
	if err != nil {
		return State{}, err
	}
	if endpoint == "" {
		endpoint = set.Endpoint
	}
	market, err := s.Market(ctx, endpoint)
	if err != nil {
		return State{}, err
	}
	l, err := market.Activate(ctx, code)
	if err != nil {
		return State{}, err
	}
	if err := statusErr("activate", l); err != nil {
		if l.Status == StatusReleased || l.Status == StatusExpired {
			// A definite answer: remembered, so that an older copy of
			// this code's authorization restored later is refused.
			s.rememberAnswer(ctx, cmp.Or(l.Code, code), l.Status)
		}
		return State{}, err
	}
	if endpoint == "" {
		endpoint = s.DefaultEndpoint
	}
	now := s.now()
	r := NewRecord(l, fp, endpoint, now)
	if s.report(ctx, market, r, now) {
		r.LastReportedAt = now
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return State{}, err
	}
	defer unlock()
	mark, err := s.loadMark(ctx)
	if err != nil {
		return State{}, err
	}
	if err := s.Store.Save(ctx, r); err != nil {
		return State{}, err
	}
	mark.Restart(r.License, r.Status, now)
	s.saveMark(ctx, mark)
	return State{Record: r, Verdict: r.ValidateSeen(mark, now, fp.Components, set.Grace), Source: SourceOnline, Storage: s.Store.Kind()}, nil
}

// rememberAnswer records in the mark, under the lock, a status the
// marketplace gave for code; failing to is logged, never fatal.
func (s *Service) rememberAnswer(ctx context.Context, code string, st Status) {
	if s.Marks == nil {
		return
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		s.log().Info("license: clock mark not updated", "err", err)
		return
	}
	defer unlock()
	mark, err := s.loadMark(ctx)
	if err == nil && mark.Answer(code, st, s.now()) {
		s.saveMark(ctx, mark)
	}
}

// loadMark reads the mark (the caller holds the lock). Copies that cannot
// be read are logged and left out rather than fail the flow: the mark only
// ever tightens the rules, and a copy its user could delete gains nothing
// by being unreadable. Only the caller giving up is an error.
func (s *Service) loadMark(ctx context.Context) (Mark, error) {
	if s.Marks == nil {
		return Mark{}, nil
	}
	m, err := s.Marks.LoadMark(ctx)
	if err != nil {
		if errs.Is(err, errs.Canceled) || ctx.Err() != nil {
			return Mark{}, errs.E("license.mark", errs.Canceled, err)
		}
		s.log().Warn("license: some copies of the clock mark cannot be read", "err", err)
	}
	return m, nil
}

// saveMark writes the mark (the caller holds the lock, and has saved the
// record first: a mark newer than the record would refuse it). A failed
// write is logged: the copies written, and the record, still hold.
func (s *Service) saveMark(ctx context.Context, m Mark) {
	if s.Marks == nil {
		return
	}
	if err := s.Marks.SaveMark(ctx, m); err != nil {
		s.log().Warn("license: some copies of the clock mark cannot be written", "err", err)
	}
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

// load reads the record under the lock.
func (s *Service) load(ctx context.Context) (Record, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	return s.Store.Load(ctx)
}

// Endpoint is the marketplace an online flow would ask now: the configured
// endpoint, else the one that issued the cached authorization ("" when
// neither is known: the default marketplace).
func (s *Service) Endpoint(ctx context.Context) (string, error) {
	set, err := s.settings()
	if err != nil || set.Endpoint != "" {
		return set.Endpoint, err
	}
	r, err := s.load(ctx)
	if err != nil {
		return "", nil // nothing cached (or nothing readable) names none
	}
	return r.Endpoint, nil
}

// Status validates the cached authorization. With online set it first asks
// the marketplace (the configured endpoint, else the one that issued the
// authorization; and it sends the day's usage report once a day); when the
// marketplace cannot be reached it falls back to the cache, which is valid
// within the grace period. A RELEASED or EXPIRED answer is saved and takes
// effect at once.
func (s *Service) Status(ctx context.Context, online bool) (State, error) {
	set, err := s.settings()
	if err != nil {
		return State{Storage: s.Store.Kind()}, err
	}
	st := State{Source: SourceCache}
	var answer *onlineAnswer
	if online {
		r, err := s.load(ctx)
		if err != nil {
			return State{Storage: s.Store.Kind()}, err
		}
		answer, err = s.ask(ctx, set, r)
		switch {
		case err == nil:
		case errs.Is(err, errs.Canceled) || errors.Is(ctx.Err(), context.Canceled):
			// The caller gave up: answer that, not the cache.
			return State{Storage: s.Store.Kind()}, errs.E("status", errs.Canceled, err)
		case errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Protocol):
			st.OnlineErr = err
			s.log().Info("online check failed; using the cache", "err", err)
		default:
			// A definite answer (unknown code, credentials rejected): no
			// cache may cover it.
			return State{Record: r, Source: SourceCache, Storage: s.Store.Kind()}, err
		}
	}
	fp := s.Fingerprint(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return State{Storage: s.Store.Kind()}, err
	}
	defer unlock()
	r, err := s.Store.Load(ctx)
	st.Storage = s.Store.Kind() // known once the store was opened
	if err != nil {
		// Removed (or replaced by something unreadable) while the
		// marketplace was asked: that wins.
		return st, err
	}
	mark, err := s.loadMark(ctx)
	if err != nil {
		return st, err
	}
	now := s.now()
	dirty, marked := false, false
	if answer != nil {
		// The marketplace's word goes into the mark before the record is
		// judged against it: a code it says is ALIVE again is no longer
		// held released.
		marked = mark.Answer(answer.code, answer.license.Status, now)
	}
	if answer != nil && answer.code == r.License {
		r.Refresh(answer.license, now)
		if answer.reported {
			r.LastReportedAt = now
		}
		st.Source, dirty = SourceOnline, true
	}
	st.Verdict = r.ValidateSeen(mark, now, fp.Components, set.Grace)
	if r.Observe(now) {
		dirty = true
	}
	if mark.Observe(now) {
		marked = true
	}
	if trustworthy(st.Verdict) && mark.Learn(r.License, r.Status, r.LastCheckedAt) {
		marked = true
	}
	if dirty {
		if err := s.Store.Save(ctx, r); err != nil {
			return st, err
		}
	}
	if marked {
		s.saveMark(ctx, mark)
	}
	st.Record = r
	if st.OnlineErr != nil && errs.Is(st.Verdict.Err, errs.GraceExpired) {
		// The gap is not covered: the marketplace is the problem to fix.
		st.Verdict.Err = errs.E("status", errs.Unavailable, fmt.Errorf("%s, and the marketplace cannot be reached: %v", st.Verdict.Reason(), st.OnlineErr))
	}
	return st, nil
}

// trustworthy reports whether a record judged v may teach the mark its
// state: not one bound to another machine, read with a clock set back, or
// carrying times that show an edit or an older copy.
func trustworthy(v Verdict) bool {
	switch errs.KindOf(v.Err) {
	case errs.WrongMachine, errs.ClockRollback, errs.Tampered:
		return false
	}
	return true
}

// onlineAnswer is what the marketplace said about a code.
type onlineAnswer struct {
	code     string
	license  License
	reported bool // the day's usage report went out
}

// ask queries the marketplace about r's code, outside the lock, and sends
// the day's usage report when the query succeeded.
func (s *Service) ask(ctx context.Context, set Settings, r Record) (*onlineAnswer, error) {
	endpoint := set.Endpoint
	if endpoint == "" {
		endpoint = r.Endpoint
	}
	market, err := s.Market(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	l, err := market.Query(ctx, r.License)
	if err != nil {
		return nil, err
	}
	return &onlineAnswer{code: r.License, license: l, reported: s.report(ctx, market, r, s.now())}, nil
}

// report sends the usage report when none was sent on this UTC day and
// says whether one went out; a failure is logged and retried on the next
// use.
func (s *Service) report(ctx context.Context, market Marketplace, r Record, now time.Time) bool {
	if sameDay(r.LastReportedAt, now) || s.DeviceID == nil {
		return false
	}
	id, err := s.DeviceID()
	if err == nil {
		err = market.ReportUsage(ctx, r.License, id)
	}
	if err != nil {
		s.log().Info("usage report failed; retried on the next use", "err", err)
		return false
	}
	return true
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
func (s *Service) Check(ctx context.Context, done chan<- error) (State, error) {
	st, err := s.Status(ctx, false)
	if err != nil || sameDay(st.Record.LastCheckedAt, s.now()) {
		if done != nil {
			done <- nil
		}
		return st, err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, err := s.Status(ctx, true)
		if err != nil {
			s.log().Info("daily check", "err", err)
		}
		if done != nil {
			done <- err
		}
	}()
	return st, nil
}

// Forget removes the cached authorization.
func (s *Service) Forget(ctx context.Context) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return s.Store.Delete(ctx)
}
