package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/token/activation"
)

// Field limits of requests.
const (
	MaxHostLen      = 255
	MaxAppLen       = 64
	MaxVersionLen   = 64
	MinRequestIDLen = 8
	MaxRequestIDLen = 128
	MaxFingerprint  = 5 << 10
)

// ActivateRequest asks for a seat.
type ActivateRequest struct {
	Code        string
	Fingerprint string
	DeviceKey   ed25519.PublicKey
	Host        string
	App         string
	Version     string
	RequestID   string // chosen by the device; a retry sends the same
	// Machine is the desktop's protected OS machine id (64 lower-case hex
	// digits), for a Fingerprint with a single unit part
	// (devinfo.Components.NeedsMachineID): the token then binds it too (mid).
	// Optional: without it the token binds the fingerprint alone.
	Machine string
}

func (r *ActivateRequest) check() error {
	code, err := licensing.NormalizeCode(r.Code)
	if err != nil {
		return err
	}
	r.Code = code
	if err := checkFingerprint(r.Fingerprint); err != nil {
		return err
	}
	if err := checkBinding(r.Fingerprint, r.Machine); err != nil {
		return err
	}
	if len(r.DeviceKey) != ed25519.PublicKeySize {
		return fmt.Errorf("device key: %d bytes, want an Ed25519 public key of %d", len(r.DeviceKey), ed25519.PublicKeySize)
	}
	if err := checkText("host", r.Host, 1, MaxHostLen); err != nil {
		return err
	}
	if err := checkText("app", r.App, 0, MaxAppLen); err != nil {
		return err
	}
	if err := checkText("version", r.Version, 0, MaxVersionLen); err != nil {
		return err
	}
	return checkText("request id", r.RequestID, MinRequestIDLen, MaxRequestIDLen)
}

func checkFingerprint(fp string) error {
	if len(fp) > MaxFingerprint {
		return fmt.Errorf("fingerprint: %d bytes, at most %d", len(fp), MaxFingerprint)
	}
	if _, err := devinfo.Parse(fp); err != nil || fp == "" {
		return errors.New("fingerprint: not a MAC|disk|board|CPU fingerprint")
	}
	return nil
}

// checkBinding applies the binding policy of package devinfo to an
// activation: a fingerprint without a unit part (MAC, disk, board) binds to
// no machine; a machine id, when sent, has its shape (checkMachine).
func checkBinding(fp, machine string) error {
	c, _ := devinfo.Parse(fp)
	switch {
	case c.Units() == 0:
		return errors.New("fingerprint: it names no network card, disk or board, so no license can be bound to it")
	case machine != "":
		return checkMachine(fp, machine)
	}
	return nil
}

// sameMachineID: two activations on one fingerprint are one machine unless
// both carry OS machine ids and these differ (a cloned virtual machine).
func sameMachineID(a, b string) bool { return a == "" || b == "" || a == b }

func checkText(name, s string, minLen, maxLen int) error {
	switch {
	case len(s) < minLen:
		if minLen == 1 {
			return fmt.Errorf("%s: missing", name)
		}
		return fmt.Errorf("%s: at least %d characters", name, minLen)
	case len(s) > maxLen:
		return fmt.Errorf("%s: longer than %d bytes", name, maxLen)
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return fmt.Errorf("%s: not printable text", name)
	}
	return nil
}

// Activate binds a seat of the code to the device, or finds the one it holds
// already, and answers with a fresh token. The same request id, or the same
// machine (devinfo.Compare) with the same device key, gets the same
// activation back and never a second seat. The same machine with a new
// device key (reinstalled, keyring lost) gets a new activation that takes
// over the old one's seat; the old one learns at its next check that its
// seat moved. A new machine beyond the seats is refused with a Refusal
// naming the holders.
func (s *Service) Activate(ctx context.Context, req ActivateRequest) (Grant, error) {
	return s.activate(ctx, "activate", req, nil)
}

// activate is Activate; inTx, when set, runs first in the seat transaction
// (an offline request records its nonce there, so a replay changes
// nothing).
func (s *Service) activate(ctx context.Context, op string, req ActivateRequest, inTx func(SeatTx) error) (Grant, error) {
	if err := req.check(); err != nil {
		kind := errs.Invalid
		if c, perr := devinfo.Parse(req.Fingerprint); perr == nil && req.Fingerprint != "" && c.Units() == 0 {
			kind = errs.WrongMachine
		}
		return Grant{}, errs.E(op, kind, err)
	}
	hash := activation.CodeHash(req.Code)
	c, err := s.code(ctx, op, req.Code, hash)
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	if err := c.usable(op, now); err != nil {
		return Grant{}, errs.E(op, errs.Other, err)
	}
	want, _ := devinfo.Parse(req.Fingerprint)
	var seats int
	var got Activation
	var created bool
	var replaced string // the activation this one took the seat of
	err = s.store.Seats(ctx, hash, func(tx SeatTx) error {
		if inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		// The seat count of the code as the database holds it under the
		// lock: another replica may have learnt its amount meanwhile.
		policy := s.cfg.product(tx.Code().ProductID)
		seats = policy.Seats(tx.Code().Amount)
		thumb := activation.Thumbprint(req.DeviceKey)
		prev, ok, err := tx.ByRequest(ctx, req.RequestID)
		if err != nil {
			return err
		}
		if ok {
			if activation.Thumbprint(prev.DeviceKey) != thumb {
				return errs.Errorf(op, errs.Invalid, "request id used before by another device")
			}
			got = prev
			return nil
		}
		candidates, err := tx.Candidates(ctx, want)
		if err != nil {
			return err
		}
		for _, a := range candidates {
			have, err := devinfo.Parse(a.Fingerprint)
			if err != nil || !devinfo.Compare(have, want).SameMachine || !sameMachineID(a.MachineID, req.Machine) {
				continue
			}
			if activation.Thumbprint(a.DeviceKey) == thumb {
				a.Fingerprint, a.Host, a.App, a.Version = req.Fingerprint, req.Host, req.App, req.Version
				if req.Machine != "" {
					a.MachineID = req.Machine
				}
				got = a
				return tx.Update(ctx, a)
			}
			a.State, a.EndedAt, a.EndNote = StateReplaced, now, "activated again on the same machine with a new device key"
			if err := tx.Update(ctx, a); err != nil {
				return err
			}
			replaced = a.ID
			got, created = s.newActivation(req, hash, now), true
			return tx.Insert(ctx, got)
		}
		bound, err := tx.Count(ctx)
		if err != nil {
			return err
		}
		// A floating code's activations bind no seat: its pool is of leases.
		if !policy.Floating() && bound >= seats {
			oldest, err := tx.Oldest(ctx, maxHolders)
			if err != nil {
				return err
			}
			holders := make([]Holder, len(oldest))
			for i, a := range oldest {
				holders[i] = Holder{Host: a.Host, ActivatedAt: a.CreatedAt.UTC()}
			}
			return seatsFull(seats, bound, holders)
		}
		got, created = s.newActivation(req, hash, now), true
		return tx.Insert(ctx, got)
	})
	if err != nil {
		if errs.KindOf(err) != errs.Other {
			s.log.InfoContext(ctx, "activation refused", "code", CodeLabel(req.Code), "kind", errs.KindOf(err).Name(), "seats", seats)
			return Grant{}, err
		}
		return Grant{}, storeErr(op, err)
	}
	if created {
		s.log.InfoContext(ctx, "seat bound", "code", CodeLabel(req.Code), "activation", got.ID, "seats", seats)
	}
	if replaced != "" {
		// The replaced activation's leases end with it (after the code's
		// lock: the lease store takes its own write).
		if _, err := s.store.EndLeasesOf(ctx, replaced, LeaseEnded, now); err != nil {
			return Grant{}, storeErr(op, err)
		}
	}
	return s.grant(got, c, now)
}

func (s *Service) newActivation(req ActivateRequest, hash string, now time.Time) Activation {
	return Activation{
		ID: newID(), CodeHash: hash, RequestID: req.RequestID, Fingerprint: req.Fingerprint,
		MachineID: req.Machine, DeviceKey: req.DeviceKey, Host: req.Host, App: req.App, Version: req.Version,
		State: StateActive, CreatedAt: now,
	}
}
