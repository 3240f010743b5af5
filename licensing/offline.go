package licensing

// Air-gapped activation and deactivation: a machine with no route to the
// vendor server trades files with it (package server/wire/offline) instead
// of calls. The activation request is signed by a device key made for it,
// which waits in the record (Pending) for the answer; the answer's token is
// then judged exactly like an online one.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/offline"
)

// Pending is an activation request waiting for its answer file.
type Pending struct {
	Code  string `json:"code"`
	Nonce string `json:"nonce"`
	// DeviceKey is the seed of the device key made for the request; the
	// answer's token names its public half.
	DeviceKey []byte `json:"device_key"`
	// Server is the configured vendor server when the request was written
	// ("" when none): the activation's server once installed, for its
	// later online checks.
	Server    string    `json:"server,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// RequestFile is a request written for an air-gapped flow.
type RequestFile struct {
	Kind         string // offline.KindActivate or offline.KindDeactivate
	Text         string // the file's content (one line, QR-friendly)
	Code         string
	ActivationID string // deactivate
	Nonce        string
	CreatedAt    time.Time
}

// RequestActivation writes an air-gapped activation request for code: a
// new device key is made and kept in the record, pending, beside any
// cached activation (which goes on working until the answer replaces it);
// the request carries the code, this machine's fingerprint and host, the
// key's public half, a nonce and the time, signed by that key. A second
// request replaces a pending one (its answer is then refused here).
func (s *Service) RequestActivation(ctx context.Context, code string) (RequestFile, error) {
	const op = "activation request"
	code, fp, set, err := s.activationStart(ctx, op, code)
	if err != nil {
		return RequestFile{}, err
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return RequestFile{}, errs.E(op, errs.Other, err)
	}
	now := s.now().Truncate(time.Second)
	req := offline.Request{
		Kind: offline.KindActivate, Code: code, Fingerprint: fp.String(), DeviceKey: pub,
		Host: s.host(), App: s.App, Version: s.Version, Nonce: newRequestID(), Time: now.Unix(),
	}
	text, err := offline.SignRequest(key, req)
	if err != nil {
		return RequestFile{}, errs.E(op, errs.Invalid, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return RequestFile{}, err
	}
	defer unlock()
	r, err := s.Store.Load(ctx)
	if err != nil {
		if errs.Is(err, errs.Storage) || errs.Is(err, errs.Canceled) {
			return RequestFile{}, err
		}
		// None cached, or one this machine refuses anyway: start afresh.
		r = Record{Version: RecordVersion, MaxSeen: now}
	}
	r.Pending = &Pending{Code: code, Nonce: req.Nonce, DeviceKey: key.Seed(), Server: set.Server, CreatedAt: now}
	if err := s.Store.Save(ctx, r); err != nil {
		return RequestFile{}, err
	}
	return RequestFile{Kind: req.Kind, Text: text, Code: code, Nonce: req.Nonce, CreatedAt: now}, nil
}

// InstallResponse installs the answer file to the pending activation
// request: the answer must be signed by a pinned vendor key and answer this
// machine's pending request, and its token must pass every rule of
// Validate here (the pinned key, this fingerprint, the pending device key)
// before it replaces the cached activation. A refused answer changes
// nothing: the request stays pending.
func (s *Service) InstallResponse(ctx context.Context, text string) (State, error) {
	const op = "install answer"
	set, err := s.settings()
	if err != nil {
		return State{}, err
	}
	if len(set.Keys) == 0 {
		return State{}, errNoKey(op)
	}
	fp := s.Fingerprint(ctx)
	unlock, err := s.lock(ctx)
	if err != nil {
		return State{}, err
	}
	defer unlock()
	prior, err := s.Store.Load(ctx)
	if err != nil && !errs.Is(err, errs.NotActivated) {
		return State{}, err
	}
	p := prior.Pending
	if err != nil || p == nil {
		return State{}, errs.E(op, errs.NotActivated, errors.New(
			"no activation request is waiting here: write one with `iscdesk activate --request-file FILE` first"))
	}
	// The answer's endorsements widen the pinned keys only as far as a
	// chain from a pinned key vouches for them (a vendor key rotation made
	// while this machine was pinned to the older key).
	keys, used := chain(set.Keys, append(slices.Clone(prior.Endorsements), offline.AnswerEndorsements(text)...))
	ans, err := offline.VerifyAnswer(text, keys)
	if err != nil {
		kind := errs.Tampered
		if !errors.Is(err, offline.ErrNotVendor) {
			kind = errs.Invalid
		}
		return State{}, errs.E(op, kind, err)
	}
	switch {
	case ans.Kind != offline.KindActivate:
		return State{}, errs.Errorf(op, errs.Invalid, "this is the receipt of a deactivation, not an activation answer")
	case ans.Nonce != p.Nonce:
		return State{}, errs.Errorf(op, errs.WrongMachine,
			"this answer is for another request (another machine's, or an older one of this machine): answer the request written here on %s",
			p.CreatedAt.UTC().Format(time.DateOnly))
	}
	now := s.now()
	r := Record{
		Version: RecordVersion, License: p.Code, Server: p.Server, ActivationID: ans.ActivationID, Token: ans.Token,
		DeviceKey: p.DeviceKey, MaxSeen: now, Endorsements: used, DeviceLicense: ans.DeviceLicense,
	}
	if prior.MaxSeen.After(now) {
		r.MaxSeen = prior.MaxSeen
	}
	mark, err := s.loadMark(ctx)
	if err != nil {
		return State{}, err
	}
	v := r.Validate(set.Keys, mark, now, fp.Components, set.Grace)
	if !v.Valid() {
		return State{Record: r, Verdict: v, Source: SourceOnline}, errs.E(op, errs.KindOf(v.Err),
			fmt.Errorf("the answer is refused here: %s", v.Reason()))
	}
	if err := s.Store.Save(ctx, r); err != nil {
		return State{}, err
	}
	mark.Restart(r.ActivationID, r.Status, r.LastCheckedAt, now)
	s.saveMark(ctx, mark)
	return State{Record: r, Verdict: v, Source: SourceOnline, Storage: s.Store.Kind()}, nil
}

// RequestDeactivation writes an air-gapped deactivation request for the
// cached activation, signed by its device key, hands it to write (which
// puts it in a file), and only then removes the activation here: the
// server frees the seat when it answers the request. The clock mark
// remembers the end, so a copy of the activation restored later is
// refused.
func (s *Service) RequestDeactivation(ctx context.Context, write func(RequestFile) error) (Record, error) {
	const op = "deactivation request"
	unlock, err := s.lock(ctx)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	r, err := s.Store.Load(ctx)
	if err != nil {
		return Record{}, err
	}
	key := r.PrivateKey()
	if r.Token == "" || r.ActivationID == "" || key == nil {
		return r, errs.E(op, errs.NotActivated, errors.New("no activation is cached here to deactivate"))
	}
	now := s.now().Truncate(time.Second)
	req := offline.Request{
		Kind: offline.KindDeactivate, ActivationID: r.ActivationID, Host: s.host(), App: s.App, Version: s.Version,
		Nonce: newRequestID(), Time: now.Unix(),
	}
	text, err := offline.SignRequest(key, req)
	if err != nil {
		return r, errs.E(op, errs.Other, err)
	}
	if err := write(RequestFile{Kind: req.Kind, Text: text, Code: r.License, ActivationID: r.ActivationID, Nonce: req.Nonce, CreatedAt: now}); err != nil {
		return r, err
	}
	if r.Pending != nil {
		// A pending activation request stays: only the activation goes.
		if err := s.Store.Save(ctx, Record{Version: RecordVersion, MaxSeen: r.MaxSeen, Pending: r.Pending}); err != nil {
			return r, err
		}
	} else if err := s.Store.Delete(ctx); err != nil {
		return r, err
	}
	mark, err := s.loadMark(ctx)
	if err == nil && mark.Answer(r.ActivationID, StatusDeactivated, s.now()) {
		s.saveMark(ctx, mark)
	}
	return r, nil
}

// errPending refuses an online flow about a record that holds only a
// pending request.
func errPending(op string, r Record) error {
	return errs.E(op, errs.NotActivated, fmt.Errorf(
		"not activated yet: the activation request written on %s waits for its answer (`iscdesk activate --response-file FILE`)",
		r.Pending.CreatedAt.UTC().Format(time.DateOnly)))
}

// cachedDeviceLicense is the device license an air-gapped answer brought,
// when it binds devInfo's machine (the tolerance policy, as the SDK
// verifies it), needs no OS machine id and is still valid at now; "" when
// there is none that fits.
func cachedDeviceLicense(r Record, req DeviceLicenseRequest, now time.Time) string {
	if r.DeviceLicense == "" || req.Machine != "" {
		return ""
	}
	c, err := token.Parse(r.DeviceLicense)
	if err != nil || c.Machine != "" || c.License != r.License || now.Unix() >= c.Expires {
		return ""
	}
	bound, err1 := devinfo.Parse(c.DevInfo)
	want, err2 := devinfo.Parse(req.DevInfo)
	if err1 != nil || err2 != nil || !devinfo.Compare(bound, want).SameMachine {
		return ""
	}
	return r.DeviceLicense
}
