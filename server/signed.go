package server

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
)

// Nonce lengths of signed requests.
const (
	MinNonceLen = 16
	MaxNonceLen = 128
)

// Signed is a request signed by a device key: the exact body bytes, the
// signature over them, and the fields of the body every signed request
// carries.
type Signed struct {
	ActivationID string
	Time         time.Time
	Nonce        string
	Body         []byte
	Signature    []byte
}

// authenticate returns the activation a signed request is about, after
// checking that its device key signed the body, that its time is within
// MaxClockSkew of the server's and that its nonce is new. Whether the
// activation still holds its seat is the caller's question.
func (s *Service) authenticate(ctx context.Context, op string, r Signed) (Activation, error) {
	a, err := s.verify(ctx, op, r)
	if err != nil {
		return Activation{}, err
	}
	now := s.now()
	return a, s.replayErr(op, s.store.UseNonce(ctx, a.ID, r.Nonce, now, s.nonceHorizon(now)))
}

func (s *Service) nonceHorizon(now time.Time) time.Time { return now.Add(-2 * s.cfg.MaxClockSkew) }

func (s *Service) replayErr(op string, err error) error {
	if errors.Is(err, ErrReplay) {
		return errs.Errorf(op, errs.Permission, "request replayed (nonce seen before)")
	}
	if err != nil {
		return storeErr(op, err)
	}
	return nil
}

// verify is authenticate without recording the nonce: the caller records it
// in its own write (Store.Checked).
func (s *Service) verify(ctx context.Context, op string, r Signed) (Activation, error) {
	if err := checkText("activation id", r.ActivationID, 1, 64); err != nil {
		return Activation{}, errs.E(op, errs.Invalid, err)
	}
	if err := checkText("nonce", r.Nonce, MinNonceLen, MaxNonceLen); err != nil {
		return Activation{}, errs.E(op, errs.Invalid, err)
	}
	a, err := s.activationByID(ctx, op, r.ActivationID)
	if err != nil {
		return Activation{}, err
	}
	if len(r.Signature) != ed25519.SignatureSize || !ed25519.Verify(a.DeviceKey, r.Body, r.Signature) {
		return Activation{}, errs.Errorf(op, errs.Permission, "the request is not signed by the device key of activation %s", a.ID)
	}
	now := s.now()
	if d := now.Sub(r.Time); d > s.cfg.MaxClockSkew || d < -s.cfg.MaxClockSkew {
		return Activation{}, errs.Errorf(op, errs.Invalid, "request time %s is more than %s away from the server's %s: set the clock",
			r.Time.UTC().Format(time.RFC3339), s.cfg.MaxClockSkew, now.UTC().Format(time.RFC3339))
	}
	return a, nil
}

// activationByID returns the activation a device names, or why not
// (NotActivated: none with that id here).
func (s *Service) activationByID(ctx context.Context, op, id string) (Activation, error) {
	a, err := s.store.Activation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Activation{}, errs.Errorf(op, errs.NotActivated, "no activation %s on this server", id)
	}
	if err != nil {
		return Activation{}, storeErr(op, err)
	}
	return a, nil
}

// heldRefusal says why an activation no longer holds its seat, or nil.
func heldRefusal(op string, a Activation) error {
	when := a.EndedAt.UTC().Format(time.RFC3339)
	switch a.State {
	case StateActive:
		return nil
	case StateDeactivated:
		return refuse(op, ReasonDeactivated, "this machine's seat was freed (deactivated at %s): activate again", when)
	case StateRevoked:
		msg := fmt.Sprintf("the vendor's support revoked this activation at %s", when)
		if a.EndNote != "" {
			msg += " (" + a.EndNote + ")"
		}
		return refuse(op, ReasonRevoked, "%s", msg)
	case StateReplaced:
		return refuse(op, ReasonMoved, "the seat moved: this machine was activated again with another device key at %s", when)
	}
	return errs.Errorf(op, errs.Other, "activation in unknown state %q", a.State)
}

// CheckRequest is a signed check; Fingerprint, when set, is the device's
// current fingerprint (a tolerated change updates the stored one).
type CheckRequest struct {
	Signed
	Fingerprint string
}

// Check is the daily check: a fresh token for an activation that holds its
// seat of a usable code, or the refusal saying why not. The code is asked of
// the marketplace at most once per query interval.
func (s *Service) Check(ctx context.Context, req CheckRequest) (Grant, error) {
	const op = "check"
	// The nonce is recorded with the check itself (one write per check).
	a, err := s.verify(ctx, op, req.Signed)
	if err != nil {
		return Grant{}, err
	}
	if err := heldRefusal(op, a); err != nil {
		return Grant{}, err
	}
	if req.Fingerprint != "" && req.Fingerprint != a.Fingerprint {
		if err := s.sameMachine(op, a, req.Fingerprint); err != nil {
			return Grant{}, err
		}
		// A tolerated change (a new disk): the seat follows the machine.
		if err := s.refingerprint(ctx, op, a.ID, a.CodeHash, req.Fingerprint); err != nil {
			return Grant{}, err
		}
		a.Fingerprint = req.Fingerprint
	}
	stored, err := s.store.Code(ctx, a.CodeHash)
	if err != nil {
		return Grant{}, storeErr(op, err)
	}
	c, err := s.code(ctx, op, stored.Code, a.CodeHash)
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	if err := c.usable(op, now); err != nil {
		return Grant{}, err
	}
	a.LastCheckAt = now
	if err := s.replayErr(op, s.store.Checked(ctx, a, req.Nonce, now, s.nonceHorizon(now))); err != nil {
		return Grant{}, err
	}
	return s.grant(a, c, now)
}

// refingerprint records the fingerprint an activation's machine reports now.
func (s *Service) refingerprint(ctx context.Context, op, id, codeHash, fp string) error {
	err := s.store.Seats(ctx, codeHash, func(tx SeatTx) error {
		cur, err := tx.Get(ctx, id)
		if err != nil || cur.State != StateActive {
			return err
		}
		cur.Fingerprint = fp
		return tx.Update(ctx, cur)
	})
	return storeErr(op, err)
}

// sameMachine refuses a fingerprint fp of a device that is not the
// activation's machine: fp is the machine now (a check).
func (s *Service) sameMachine(op string, a Activation, fp string) error {
	return s.machineMatch(op, a, fp, false)
}

// machineMatch compares fp with the activation's fingerprint. With
// bindsFP, fp is what a device license will bind (a devInfo, which may
// name fewer parts than the machine has) and the comparison runs the way
// the license is verified later: fp bound, the activation's machine
// current.
func (s *Service) machineMatch(op string, a Activation, fp string, bindsFP bool) error {
	if err := checkFingerprint(fp); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	have, _ := devinfo.Parse(a.Fingerprint)
	now, _ := devinfo.Parse(fp)
	if bindsFP {
		have, now = now, have
	}
	if cmp := devinfo.Compare(have, now); !cmp.SameMachine {
		return refuse(op, ReasonWrongMachine, "this activation is bound to another machine (changed: %v)", cmp.ChangedParts())
	}
	return nil
}

// Deactivate frees the seat of the activation that signed the request. An
// activation that no longer holds a seat is left as it is (no error):
// deactivating twice is fine.
func (s *Service) Deactivate(ctx context.Context, req Signed) error {
	const op = "deactivate"
	a, err := s.authenticate(ctx, op, req)
	if err != nil {
		return err
	}
	return s.end(ctx, op, a, StateDeactivated, "")
}

// Revoke frees an activation's seat on support's word; the device learns it
// at its next check. note says why (shown to the device).
func (s *Service) Revoke(ctx context.Context, id, note string) error {
	const op = "revoke"
	if err := checkText("note", note, 0, 200); err != nil {
		return errs.E(op, errs.Invalid, err)
	}
	a, err := s.store.Activation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return errs.Errorf(op, errs.NotExist, "no activation %s", id)
	}
	if err != nil {
		return storeErr(op, err)
	}
	return s.end(ctx, op, a, StateRevoked, note)
}

func (s *Service) end(ctx context.Context, op string, a Activation, state State, note string) error {
	err := s.store.Seats(ctx, a.CodeHash, func(tx SeatTx) error {
		cur, err := tx.Get(ctx, a.ID)
		if err != nil {
			return err
		}
		if cur.State != StateActive {
			return nil // not active any more
		}
		cur.State, cur.EndedAt, cur.EndNote = state, s.now(), note
		return tx.Update(ctx, cur)
	})
	if err != nil {
		return storeErr(op, err)
	}
	s.log.InfoContext(ctx, "seat freed", "activation", a.ID, "state", string(state))
	// A floating code's leases end with their activation, borrowed ones
	// too (they have no heartbeat that would notice).
	n, err := s.store.EndLeasesOf(ctx, a.ID, LeaseEnded, s.now().UTC())
	if err != nil {
		return storeErr(op, err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "leases ended with their activation", "activation", a.ID, "count", n)
	}
	return nil
}

// DeviceLicenseRequest asks, signed by the device key, for a device license
// for the vendor's program on this device.
type DeviceLicenseRequest struct {
	Signed
	DevInfo  string    // the fingerprint the vendor's program passed
	NotAfter time.Time // zero: the code's expiry
	// Machine is the protected OS machine id the license also binds (its
	// mid claim): required when DevInfo names a single unit part
	// (devinfo.Components.NeedsMachineID), which sdk.VerifyDeviceLicense
	// checks.
	Machine string
	// LeaseID names the lease held for the program, required for a
	// floating product: the license ends with the lease.
	LeaseID string
}

// DeviceLicense issues a device license (package token, the claims the
// sandbox issues, so sdk.VerifyLicense accepts it) binding the code to
// DevInfo, which must be the activation's machine.
func (s *Service) DeviceLicense(ctx context.Context, req DeviceLicenseRequest) (string, error) {
	const op = "device license"
	a, err := s.authenticate(ctx, op, req.Signed)
	if err != nil {
		return "", err
	}
	if err := heldRefusal(op, a); err != nil {
		return "", err
	}
	if err := s.machineMatch(op, a, req.DevInfo, true); err != nil {
		return "", err
	}
	if err := checkMachine(req.DevInfo, req.Machine); err != nil {
		return "", errs.E(op, errs.Invalid, err)
	}
	if !sameMachineID(a.MachineID, req.Machine) {
		return "", refuse(op, ReasonWrongMachine, "the OS machine id is not this activation's")
	}
	c, err := s.activationCode(ctx, op, a)
	if err != nil {
		return "", err
	}
	now := s.now().UTC().Truncate(time.Second)
	if err := c.usable(op, now); err != nil {
		return "", err
	}
	if !req.NotAfter.IsZero() && !req.NotAfter.After(now) {
		return "", errs.Errorf(op, errs.Invalid, "not_after must be in the future")
	}
	notAfter := req.NotAfter
	if s.cfg.product(c.ProductID).Floating() {
		// A device license under a lease does not outlive the lease.
		end, err := s.leaseEnd(ctx, op, a, req.LeaseID, now)
		if err != nil {
			return "", err
		}
		if notAfter.IsZero() || end.Before(notAfter) {
			notAfter = end
		}
	}
	return s.signDeviceLicense(op, c, req.DevInfo, req.Machine, notAfter, now)
}

// signDeviceLicense signs a device license of the usable code c bound to
// devInfo (and machine, when set), expiring at the code's expiry, or
// notAfter when earlier, or after the product's grace when the code has
// none.
func (s *Service) signDeviceLicense(op string, c Code, devInfo, machine string, notAfter, now time.Time) (string, error) {
	exp := c.ExpireTime
	if !notAfter.IsZero() && (exp.IsZero() || notAfter.Before(exp)) {
		exp = notAfter
	}
	if exp.IsZero() {
		exp = now.Add(s.cfg.product(c.ProductID).grace())
	}
	tok, err := token.Sign(s.signer.SigningKey(), token.Claims{
		Issuer: s.cfg.Issuer, License: c.Code, DevInfo: devInfo, ProductID: c.ProductID,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expires: exp.Unix(), ID: newID(), Machine: machine,
	})
	if err != nil {
		return "", errs.E(op, errs.Other, err)
	}
	return tok, nil
}

// leaseEnd is the end of the lease id, which activation a must hold at now.
func (s *Service) leaseEnd(ctx context.Context, op string, a Activation, id string, now time.Time) (time.Time, error) {
	if id == "" {
		return time.Time{}, refuse(op, ReasonNoLease, "this license is floating: a device license needs a lease (take one first)")
	}
	l, err := s.store.Lease(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && l.ActivationID != a.ID {
		return time.Time{}, refuse(op, ReasonNoLease, "lease %s is not held by this activation", id)
	}
	if err != nil {
		return time.Time{}, storeErr(op, err)
	}
	if err := leaseEnded(op, l, now); err != nil {
		return time.Time{}, err
	}
	return l.EndsAt, nil
}

// checkMachine checks the machine id of a device license: required for a
// devInfo with a single unit part, and 64 lower-case hex digits when given.
func checkMachine(devInfo, machine string) error {
	c, _ := devinfo.Parse(devInfo)
	switch {
	case machine == "" && c.NeedsMachineID():
		return errors.New("machine: devinfo names a single network card, disk or board, so the license must bind the OS machine id too")
	case machine == "":
		return nil
	}
	if b, err := hex.DecodeString(machine); err != nil || len(b) != 32 || strings.ToLower(machine) != machine {
		return errors.New("machine: want 64 lower-case hex digits")
	}
	return nil
}
