package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token/offline"
)

// OfflineAnswer is the outcome of an air-gapped request file: the answer
// file's text (signed by the vendor key) and what it did.
type OfflineAnswer struct {
	Kind       string // offline.KindActivate or offline.KindDeactivate
	Text       string // the answer file
	Activation Activation
	Grant      Grant // activate only
	Freed      bool  // deactivate: the seat was held until now
}

// AnswerOffline answers a request file written by a desktop without a
// route to this server (package server/wire/offline) under the rules of
// the online calls: an activation takes a seat exactly as Activate does
// (marketplace activation, seats, the same machine's seat kept), a
// deactivation frees the seat of the activation whose device key signed
// it. A request is answered once (its nonce is recorded in the seat
// transaction), and only within OfflineRequestTTL of its time; a replayed,
// stale, edited or wrongly signed request changes nothing.
func (s *Service) AnswerOffline(ctx context.Context, text string) (OfflineAnswer, error) {
	const op = "offline answer"
	req, tok, err := offline.ParseRequest(text)
	if err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Invalid, err)
	}
	now := s.now()
	if err := s.offlineTime(op, req.At(), now); err != nil {
		return OfflineAnswer{}, err
	}
	if err := checkText("nonce", req.Nonce, MinNonceLen, MaxNonceLen); err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Invalid, err)
	}
	if req.Kind == offline.KindDeactivate {
		return s.offlineDeactivate(ctx, op, req, tok, now)
	}
	if err := offline.VerifyRequest(tok, req.DeviceKey, req); err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Permission, fmt.Errorf("the request is not signed by the device key it carries: %w", err))
	}
	g, err := s.activate(ctx, op, ActivateRequest{
		Code: req.Code, Fingerprint: req.Fingerprint, DeviceKey: req.DeviceKey,
		Host: req.Host, App: req.App, Version: req.Version, RequestID: "offline-" + req.Nonce,
	}, func(tx SeatTx) error {
		return s.offlineReplayErr(op, tx.UseOfflineNonce(ctx, req.Nonce, req.Kind, now, now.Add(-s.offlineHorizon())))
	})
	if err != nil {
		return OfflineAnswer{}, err
	}
	// A device license for the vendor's programs, which cannot ask for one
	// across the gap: bound to the fingerprint, and living no longer than
	// the token's grace. Not for a fingerprint with a single unit part,
	// whose licenses must bind the OS machine id the request does not carry.
	var lic string
	if c, _ := devinfo.Parse(req.Fingerprint); !c.NeedsMachineID() {
		if lic, err = s.signDeviceLicense(op, g.Code, req.Fingerprint, "", time.Unix(g.Claims.CheckBy, 0), now.UTC().Truncate(time.Second)); err != nil {
			return OfflineAnswer{}, err
		}
	}
	ans, err := offline.SignAnswer(s.signer.SigningKey(), offline.Answer{
		Kind: offline.KindActivate, Nonce: req.Nonce, ActivationID: g.Activation.ID, Token: g.Token, DeviceLicense: lic,
		Time: now.Unix(), Endorsements: s.endorsements(now),
	})
	if err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Other, err)
	}
	s.log.InfoContext(ctx, "offline activation answered", "code", CodeLabel(req.Code), "activation", g.Activation.ID)
	return OfflineAnswer{Kind: req.Kind, Text: ans, Activation: g.Activation, Grant: g}, nil
}

func (s *Service) offlineDeactivate(ctx context.Context, op string, req offline.Request, tok string, now time.Time) (OfflineAnswer, error) {
	if err := checkText("activation id", req.ActivationID, 1, 64); err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Invalid, err)
	}
	a, err := s.activationByID(ctx, op, req.ActivationID)
	if err != nil {
		return OfflineAnswer{}, err
	}
	if err := offline.VerifyRequest(tok, a.DeviceKey, req); err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Permission, fmt.Errorf("the request is not signed by the device key of activation %s: %w", a.ID, err))
	}
	freed := false
	err = s.store.Seats(ctx, a.CodeHash, func(tx SeatTx) error {
		if err := s.offlineReplayErr(op, tx.UseOfflineNonce(ctx, req.Nonce, req.Kind, now, now.Add(-s.offlineHorizon()))); err != nil {
			return err
		}
		cur, err := tx.Get(ctx, a.ID)
		if err != nil || cur.State != StateActive {
			return err // no seat held any more: nothing to free
		}
		cur.State, cur.EndedAt, cur.EndNote = StateDeactivated, now, "deactivated by request file"
		freed = true
		a = cur
		return tx.Update(ctx, cur)
	})
	if err != nil {
		if errs.KindOf(err) != errs.Other {
			return OfflineAnswer{}, err
		}
		return OfflineAnswer{}, storeErr(op, err)
	}
	ans, err := offline.SignAnswer(s.signer.SigningKey(), offline.Answer{
		Kind: offline.KindDeactivate, Nonce: req.Nonce, ActivationID: a.ID, Time: now.Unix(),
	})
	if err != nil {
		return OfflineAnswer{}, errs.E(op, errs.Other, err)
	}
	if freed {
		s.log.InfoContext(ctx, "seat freed", "activation", a.ID, "state", string(StateDeactivated), "by", "request file")
	}
	return OfflineAnswer{Kind: req.Kind, Text: ans, Activation: a, Freed: freed}, nil
}

// offlineHorizon is how long offline nonces are remembered: as long as a
// request is answered, and the clock skew it may have beyond.
func (s *Service) offlineHorizon() time.Duration {
	return s.cfg.OfflineRequestTTL + 2*s.cfg.MaxClockSkew
}

// offlineTime refuses a request written longer than OfflineRequestTTL ago,
// or later than the server's clock allows.
func (s *Service) offlineTime(op string, at, now time.Time) error {
	switch {
	case now.Sub(at) > s.cfg.OfflineRequestTTL:
		return errs.Errorf(op, errs.Invalid, "the request was written at %s, more than %d days ago: write a new one on the desktop",
			at.Format(time.RFC3339), s.cfg.OfflineRequestTTL/(24*time.Hour))
	case at.Sub(now) > s.cfg.MaxClockSkew:
		return errs.Errorf(op, errs.Invalid, "the request's time %s is later than the server's %s: set the desktop's clock and write a new one",
			at.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *Service) offlineReplayErr(op string, err error) error {
	if errors.Is(err, ErrReplay) {
		return errs.Errorf(op, errs.Permission, "this request file was answered before (its nonce is known): write a new one on the desktop")
	}
	return err
}

// endorser is a Signer that publishes its key endorsements (server/keys.Ring).
type endorser interface {
	Endorsements(now time.Time) []string
}

// endorsements are the signer's key endorsements, for an answer that
// travels where GET /v1/keys cannot be asked; none when the signer keeps
// none.
func (s *Service) endorsements(now time.Time) []string {
	if e, ok := s.signer.(endorser); ok {
		list := e.Endorsements(now)
		if len(list) > offline.MaxEndorsements {
			list = list[len(list)-offline.MaxEndorsements:]
		}
		return list
	}
	return nil
}
