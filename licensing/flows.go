package licensing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

// errNoKey refuses a flow that needs a token when no vendor key is pinned.
func errNoKey(op string) error {
	return errs.E(op, errs.Invalid, errors.New(
		"no vendor key is pinned: set server_key (or ISCDESK_SERVER_KEY) to the vendor's public key, which `iscdesk-server keys show` prints"))
}

func errNoServer(op string) error {
	return errs.E(op, errs.Invalid, errors.New(
		"no license server is configured: set server (or ISCDESK_SERVER, or --server) to the vendor's license server"))
}

func (s *Service) host() string {
	if s.Host != nil {
		return s.Host()
	}
	h, _ := os.Hostname()
	if h == "" {
		h = "unknown"
	}
	return h
}

// connect returns the server at url.
func (s *Service) connect(ctx context.Context, op, url string) (Server, error) {
	if url == "" {
		return nil, errNoServer(op)
	}
	if s.Connect == nil {
		return nil, errs.E(op, errs.Other, errors.New("no license server client is wired"))
	}
	return s.Connect(ctx, url)
}

// serverFor is the server a flow about r asks: the configured one, else
// the one that issued r.
func serverFor(set Settings, r Record) string {
	if set.Server != "" {
		return set.Server
	}
	return r.Server
}

// Activate activates code with the configured server; see ActivateAt.
func (s *Service) Activate(ctx context.Context, code string) (State, error) {
	return s.ActivateAt(ctx, "", code)
}

// activateAttempts is how often an activation is sent when the server
// cannot be reached; every attempt carries the same request id, so the
// server binds at most one seat for them.
const activateAttempts = 2

// ActivateAt activates code with the vendor server at url ("" means the
// configured one, else the one that issued the cached activation) and
// caches the signed activation token with this device's key, replacing any
// cached activation. The device key of a cached activation from the same
// server is used again, so activating again on this machine gets the same
// seat back; otherwise a new key is made (the server then moves this
// machine's seat to it, never taking a second one).
//
// A malformed code is refused (kind Invalid) before any call, and so is an
// activation without a pinned vendor key. The token is verified like any
// cached one before it is kept: a token this machine would refuse is not
// cached.
func (s *Service) ActivateAt(ctx context.Context, url, code string) (State, error) {
	const op = "activate"
	code, fp, set, err := s.activationStart(ctx, op, code)
	if err != nil {
		return State{}, err
	}
	prior, priorErr := s.load(ctx)
	if errs.Is(priorErr, errs.Canceled) || errs.Is(priorErr, errs.Busy) {
		return State{}, priorErr
	}
	if url == "" {
		url = set.Server
	}
	if url == "" && priorErr == nil {
		url = prior.Server
	}
	srv, err := s.connect(ctx, op, url)
	if err != nil {
		return State{}, err
	}
	key := prior.PrivateKey()
	if priorErr != nil || prior.Server != url || key == nil {
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return State{}, errs.E(op, errs.Other, err)
		}
	}
	req := ActivateRequest{
		Code: code, Fingerprint: fp.String(), DeviceKey: key.Public().(ed25519.PublicKey),
		Host: s.host(), App: s.App, Version: s.Version, RequestID: newRequestID(),
	}
	var g Grant
	for attempt := 1; ; attempt++ {
		g, err = srv.Activate(ctx, req)
		if err == nil || attempt == activateAttempts || !errs.Is(err, errs.Unavailable) || ctx.Err() != nil {
			break
		}
		s.log().Info("activation: the server cannot be reached; trying again with the same request id", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return State{}, err
	}
	now := s.now()
	r := Record{
		Version: RecordVersion, License: code, Server: url, ActivationID: g.ActivationID, Token: g.Token,
		DeviceKey: key.Seed(), MaxSeen: now,
	}
	if _, err := activation.Verify(g.Token, set.Keys, now); errors.Is(err, token.ErrUnknownKey) {
		// Signed by a key the vendor rotated to after this machine pinned
		// its key: follow the endorsements the server publishes.
		r.Endorsements = s.endorsements(ctx, srv, set.Keys, nil)
	}
	v := r.Validate(set.Keys, Mark{}, now, fp.Components, set.Grace)
	if !v.Valid() {
		return State{Record: r, Verdict: v, Source: SourceOnline}, errs.E(op, errs.KindOf(v.Err),
			fmt.Errorf("the license server's answer is refused here: %s", v.Reason()))
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
	mark.Restart(r.ActivationID, r.Status, r.LastCheckedAt, now)
	s.saveMark(ctx, mark)
	return State{Record: r, Verdict: v, Source: SourceOnline, Storage: s.Store.Kind()}, nil
}

// activationStart checks what an activation, online or by file, needs
// before anything is sent or written: the code's form, a fingerprint that
// can bind a license, and a pinned vendor key to verify the answer with.
func (s *Service) activationStart(ctx context.Context, op, code string) (string, devinfo.Fingerprint, Settings, error) {
	code, err := NormalizeCode(code)
	if err != nil {
		return "", devinfo.Fingerprint{}, Settings{}, err
	}
	// A fingerprint without a unit part binds to no machine
	// (devinfo.Compare): refuse before the server binds a seat.
	fp := s.Fingerprint(ctx)
	if fp.Components.Units() == 0 {
		return "", devinfo.Fingerprint{}, Settings{}, errs.E(op, errs.WrongMachine, errors.New(
			"this machine's fingerprint names no network card, disk or board, so no license can be bound to it (see `iscdesk fingerprint --verbose`)"))
	}
	set, err := s.settings()
	if err != nil {
		return "", devinfo.Fingerprint{}, Settings{}, err
	}
	if len(set.Keys) == 0 {
		return "", devinfo.Fingerprint{}, Settings{}, errNoKey(op)
	}
	return code, fp, set, nil
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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

// load reads the record under the lock.
func (s *Service) load(ctx context.Context) (Record, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	return s.Store.Load(ctx)
}

// ServerURL is the vendor server an online flow would ask now: the
// configured one, else the one that issued the cached activation ("" when
// neither is known).
func (s *Service) ServerURL(ctx context.Context) (string, error) {
	set, err := s.settings()
	if err != nil || set.Server != "" {
		return set.Server, err
	}
	r, err := s.load(ctx)
	if err != nil {
		return "", nil // nothing cached (or nothing readable) names none
	}
	return r.Server, nil
}

// checkAnswer is what the server said about an activation at a check: a
// fresh token, or the refusal that ended it.
type checkAnswer struct {
	activationID string
	token        string
	endorsements []string // what leads from the pinned key to the token's
	ended        Status   // the activation's end, with err
	err          error
}

// Status validates the cached activation. With online set it first asks
// the server for a fresh token (the configured server, else the one that
// issued the activation); when the server cannot be reached it falls back
// to the cached token, which is valid until its grace deadline. A refusal
// that ends the activation (released, expired, revoked, deactivated, seat
// moved) takes effect at once, and the clock mark keeps it, so an older
// copy of the token restored later is refused offline too.
func (s *Service) Status(ctx context.Context, online bool) (State, error) {
	set, err := s.settings()
	if err != nil {
		return State{Storage: s.Store.Kind()}, err
	}
	st := State{Source: SourceCache}
	var answer *checkAnswer
	if online {
		r, err := s.load(ctx)
		if err != nil {
			return State{Storage: s.Store.Kind()}, err
		}
		if len(set.Keys) == 0 {
			return State{Record: r, Storage: s.Store.Kind()}, errNoKey("status")
		}
		switch {
		case r.Token == "" && r.Pending != nil:
			// Only an air-gapped request waits here: nothing to check.
			err = errs.E("status", errs.Unavailable, errors.New("no activation to check yet"))
		case serverFor(set, r) == "":
			// Activated by file on a machine that names no server: the
			// token decides, as when the server cannot be reached.
			err = errs.E("status", errs.Unavailable, errors.New("no license server is configured (activated by file)"))
		default:
			answer, err = s.ask(ctx, set, r)
		}
		switch {
		case err == nil:
		case errs.Is(err, errs.Canceled) || errors.Is(ctx.Err(), context.Canceled):
			// The caller gave up: answer that, not the cache.
			return State{Storage: s.Store.Kind()}, errs.E("status", errs.Canceled, err)
		case errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Protocol):
			st.OnlineErr = err
			s.log().Info("online check failed; using the cached token", "err", err)
		default:
			// A definite answer no cache may cover (another machine by
			// the server's tolerance, a key the server does not know).
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
		// Removed (or replaced by something unreadable) while the server
		// was asked: that wins.
		return st, err
	}
	if len(set.Keys) == 0 {
		return st, errNoKey("status")
	}
	mark, err := s.loadMark(ctx)
	if err != nil {
		return st, err
	}
	now := s.now()
	dirty, marked := false, false
	if answer != nil && answer.activationID == r.ActivationID {
		st.Source = SourceOnline
		if answer.token != "" {
			r.Token, r.Endorsements, r.Ended, r.EndedAt, dirty = answer.token, answer.endorsements, "", time.Time{}, true
		} else {
			r.Ended, r.EndedAt, dirty = answer.ended, now, true
			marked = mark.Answer(r.ActivationID, answer.ended, now)
		}
	}
	st.Verdict = r.Validate(set.Keys, mark, now, fp.Components, set.Grace)
	if answer != nil && answer.err != nil && st.Source == SourceOnline {
		st.Verdict.Err, st.Verdict.GraceLeft = answer.err, 0 // the server's own words
	}
	if answer != nil && answer.token != "" && st.Verdict.Valid() {
		// The server's word, and its time, for what the mark remembers.
		if mark.Answer(r.ActivationID, r.Status, r.LastCheckedAt) {
			marked = true
		}
	}
	if r.Observe(now) {
		dirty = true
	}
	if mark.Observe(now) {
		marked = true
	}
	if trustworthy(st.Verdict) && r.Status != "" && mark.Learn(r.ActivationID, r.Status, r.LastCheckedAt) {
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
		// The gap is not covered: the server is the problem to fix.
		st.Verdict.Err = errs.E("status", errs.Unavailable, fmt.Errorf("%s, and the license server cannot be reached: %v", st.Verdict.Reason(), st.OnlineErr))
	}
	return st, nil
}

// trustworthy reports whether a record judged v may teach the mark its
// state: not one bound to another machine, read with a clock set back, or
// whose token does not verify or is an older copy.
func trustworthy(v Verdict) bool {
	switch errs.KindOf(v.Err) {
	case errs.WrongMachine, errs.ClockRollback, errs.Tampered:
		return false
	}
	return true
}

// ask runs the daily check for r, outside the lock: a fresh token, verified
// against the pinned keys before it is used, or the refusal that ended the
// activation. A token that does not verify is a Protocol error (the cache
// then decides).
func (s *Service) ask(ctx context.Context, set Settings, r Record) (*checkAnswer, error) {
	const op = "check"
	srv, key, err := s.signer(ctx, op, set, r)
	if err != nil {
		return nil, err
	}
	tok, err := srv.Check(ctx, r.ActivationID, key, s.Fingerprint(ctx).String())
	if err != nil {
		if st := ended(err); st != "" {
			return &checkAnswer{activationID: r.ActivationID, ended: st, err: err}, nil
		}
		return nil, err
	}
	keys, used := chain(set.Keys, r.Endorsements)
	c, err := activation.Verify(tok, keys, s.now())
	if errors.Is(err, token.ErrUnknownKey) {
		// The vendor rotated its key: follow the endorsements.
		used = s.endorsements(ctx, srv, set.Keys, r.Endorsements)
		c, err = activation.Verify(tok, Trusted(set.Keys, used), s.now())
	}
	if err == nil && c.ActivationID != r.ActivationID {
		err = fmt.Errorf("it names activation %s, not %s", c.ActivationID, r.ActivationID)
	}
	if err != nil && !errors.Is(err, activation.ErrExpired) && !errors.Is(err, activation.ErrCheckBy) {
		return nil, errs.E(op, errs.Protocol, fmt.Errorf("the license server answered with an activation token this machine does not accept: %w", err))
	}
	return &checkAnswer{activationID: r.ActivationID, token: tok, endorsements: used}, nil
}

// endorsements asks srv for the key endorsements it publishes and returns
// those that lead from pinned (with the ones already known) to other keys;
// a failure to ask leaves the known ones.
func (s *Service) endorsements(ctx context.Context, srv Server, pinned activation.Keys, known []string) []string {
	published, err := srv.Endorsements(ctx)
	if err != nil {
		s.log().Info("license: the server's key endorsements cannot be read", "err", err)
		return known
	}
	_, used := chain(pinned, append(slices.Clone(known), published...))
	return used
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}

// Check is what a start of the software calls: it validates offline at once
// and, when the token was not issued on this UTC day, runs the online check
// in the background (done receives its outcome; it may be nil). A failure
// there never blocks a start that is valid within the grace period.
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

// Deactivate frees this machine's seat on the server, signed by the device
// key, then removes the cached activation (the clock mark remembers it
// ended, so a copy restored later is refused). A seat the server says is
// no longer held (deactivated, revoked, moved, unknown) counts as freed. When
// the server cannot be reached, nothing changes here: the error says so.
func (s *Service) Deactivate(ctx context.Context) (Record, error) {
	const op = "deactivate"
	r, srv, key, err := s.cached(ctx, op)
	if err != nil {
		return r, err
	}
	if err := srv.Deactivate(ctx, r.ActivationID, key); err != nil {
		if ended(err) == "" && !errs.Is(err, errs.NotActivated) {
			if errs.Is(err, errs.Unavailable) {
				return r, errs.E(op, errs.Unavailable, fmt.Errorf("the seat was not freed and the activation stays here (`iscdesk forget` removes it here only): %w", err))
			}
			return r, err
		}
		s.log().Info("deactivate: the server holds no seat for this activation any more", "err", err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return r, err
	}
	defer unlock()
	if cur, err := s.Store.Load(ctx); err == nil && cur.ActivationID == r.ActivationID {
		if err := s.Store.Delete(ctx); err != nil {
			return r, err
		}
	}
	mark, err := s.loadMark(ctx)
	if err == nil && mark.Answer(r.ActivationID, StatusDeactivated, s.now()) {
		s.saveMark(ctx, mark)
	}
	return r, nil
}

// DeviceLicense asks the server that holds the cached activation for a
// device license for the vendor's program, signed by the device key. The
// caller has validated the activation (Check).
func (s *Service) DeviceLicense(ctx context.Context, req DeviceLicenseRequest) (string, error) {
	r, srv, key, err := s.cached(ctx, "device license")
	if err == nil {
		var lic string
		if lic, err = srv.DeviceLicense(ctx, r.ActivationID, key, req); err == nil {
			return lic, nil
		}
	}
	// A machine that cannot ask the server (none reachable, or none
	// configured: air-gapped): the license its answer file brought, if it
	// fits.
	if errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Invalid) && r.Token != "" && serverFor(s.settingsOrZero(), r) == "" {
		if cached := cachedDeviceLicense(r, req, s.now()); cached != "" {
			return cached, nil
		}
	}
	return "", err
}

// settingsOrZero is the settings, or none when they cannot be read.
func (s *Service) settingsOrZero() Settings {
	set, _ := s.settings()
	return set
}

// cached loads the cached activation and returns it with the server that
// holds it and the device key that signs requests about it.
func (s *Service) cached(ctx context.Context, op string) (Record, Server, ed25519.PrivateKey, error) {
	set, err := s.settings()
	if err != nil {
		return Record{}, nil, nil, err
	}
	r, err := s.load(ctx)
	if err != nil {
		return Record{}, nil, nil, err
	}
	if r.Token == "" && r.Pending != nil {
		return r, nil, nil, errPending(op, r)
	}
	srv, key, err := s.signer(ctx, op, set, r)
	return r, srv, key, err
}

// signer returns the server an online flow about r asks, and r's device key.
func (s *Service) signer(ctx context.Context, op string, set Settings, r Record) (Server, ed25519.PrivateKey, error) {
	key := r.PrivateKey()
	if key == nil {
		return nil, nil, errs.E(op, errs.Tampered, errors.New("the cached activation holds no device key to sign with: activate the license again (`iscdesk forget` removes it here; the vendor's support can free its seat)"))
	}
	srv, err := s.connect(ctx, op, serverFor(set, r))
	return srv, key, err
}

// Forget removes the cached activation from this machine only: the seat
// stays taken on the server (Deactivate frees it).
func (s *Service) Forget(ctx context.Context) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return s.Store.Delete(ctx)
}
