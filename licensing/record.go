package licensing

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

// RecordVersion is the format version of Record; a store refuses a record of
// another version rather than misreading it. Version 1 was the marketplace's
// answer cached by the desktop itself, before the vendor server.
const RecordVersion = 2

// ClockTolerance is how far the clock may be behind the highest time a record
// has seen before the record refuses to work (clocks are corrected by NTP by
// seconds, not by minutes).
const ClockTolerance = 5 * time.Minute

// Record is the cached activation: the vendor server's signed activation
// token for a license code, and the private half of this device's key, which
// the token names and which signs every later request about it. Stores keep
// it sealed (the OS keyring, or the encrypted-file fallback): the device key
// is never written in clear.
//
// The token decides: Validate verifies it against the pinned vendor key and
// copies its claims into the fields below it, which are there to be shown;
// an edited copy of them changes nothing.
type Record struct {
	Version int    `json:"v"`
	License string `json:"license"` // the license code (the token names it by its hash)
	// Server is the base URL of the vendor server that issued the token.
	Server       string `json:"server"`
	ActivationID string `json:"activation_id"`
	Token        string `json:"token"`
	// DeviceKey is the seed of this device's Ed25519 key.
	DeviceKey []byte `json:"device_key"`
	// Endorsements are the vendor's key endorsements that lead from the
	// pinned key to the one that signed Token, after a rotation (see
	// Trusted); none while the pinned key signs.
	Endorsements []string `json:"endorsements,omitempty"`
	// MaxSeen is the highest clock time the record has seen.
	MaxSeen time.Time `json:"max_seen"`
	// Ended is how the server ended the activation at a check (released,
	// expired, revoked, deactivated, moved), and EndedAt when it said so;
	// empty while it has not. The token cannot say it: the server refuses
	// rather than sign one.
	Ended   Status    `json:"ended,omitempty"`
	EndedAt time.Time `json:"ended_at,omitempty"`
	// Borrow is the lease of a floating code borrowed for this machine
	// (`iscdesk lease borrow`), kept until returned; it is of no use past
	// its BorrowedUntil.
	Borrow *Lease `json:"borrow,omitempty"`
	// Pending is an air-gapped activation request written on this
	// machine and waiting for its answer file (Service.RequestActivation);
	// nil when none. A record may hold it alone (no activation yet) or
	// beside the activation it will replace.
	Pending *Pending `json:"pending,omitempty"`
	// DeviceLicense is the device license an air-gapped answer brought,
	// bound to this machine's fingerprint (InstallResponse): the agent
	// hands it to the vendor's programs while the server cannot be asked
	// for one. Empty after an online activation.
	DeviceLicense string `json:"device_license,omitempty"`

	// From the token's claims, refreshed whenever it verifies.
	Status        Status    `json:"status"`
	ExpireTime    time.Time `json:"expire_time"`
	ProductID     string    `json:"product_id,omitempty"`
	OrderID       string    `json:"order_id,omitempty"`
	ActivatedAt   time.Time `json:"activated_at"`
	LastCheckedAt time.Time `json:"last_checked_at"` // the server's time when it signed the token
	CheckBy       time.Time `json:"check_by"`        // the grace deadline the token carries
	// Fingerprint is the fingerprint string the token is bound to, and
	// Components its parts.
	Fingerprint string             `json:"fingerprint"`
	Components  devinfo.Components `json:"components"`
}

// PrivateKey is the device key, or nil when the record holds none that is
// well formed.
func (r Record) PrivateKey() ed25519.PrivateKey {
	if len(r.DeviceKey) != ed25519.SeedSize {
		return nil
	}
	return ed25519.NewKeyFromSeed(r.DeviceKey)
}

// apply copies a verified token's claims into the fields shown.
func (r *Record) apply(c activation.Claims) {
	r.Status = Status(c.Status)
	r.ExpireTime = unix(c.Expires)
	r.ProductID, r.OrderID = c.Product, c.OrderID
	r.ActivatedAt = unix(c.ActivatedAt)
	r.LastCheckedAt = unix(c.IssuedAt)
	r.CheckBy = unix(c.CheckBy)
	r.Fingerprint = c.Fingerprint
	r.Components, _ = devinfo.Parse(c.Fingerprint)
}

func unix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
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
	// GraceLeft is how much of the offline grace period remains: until the
	// token's check_by, or sooner when the local grace_days say so.
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

// Validate applies the token rules offline, with the clock injected and
// seen, what this machine remembers outside the record (the zero Mark when
// nothing), in this order:
//
//  1. the token's signature against the pinned vendor keys, or a key they
//     endorsed (Trusted) (an edited token, one signed by another key, a
//     damaged one: Tampered);
//  2. the token is the record's: its activation and license code;
//  3. this machine (the fingerprint under the tolerance policy of devinfo:
//     WrongMachine) and this device's key (a token copied from another
//     installation: Tampered);
//  4. the clock not set back: before the record's MaxSeen or seen's, or
//     behind the server's time in the token (ClockRollback);
//  5. what the record and seen know of the activation: a refusal the
//     server gave stands (released, expired, revoked, deactivated, moved);
//     a token issued before the newest check seen knows of is an older
//     copy (Tampered);
//  6. the token's status, the license expiry, and the grace deadline
//     (check_by, and grace after the token's issue when grace is set).
//
// The claims of a genuine token are copied into the record's display fields
// even when it is refused for its time.
func (r *Record) Validate(keys activation.Keys, seen Mark, now time.Time, current devinfo.Components, grace time.Duration) Verdict {
	const op = "validate"
	var v Verdict
	fail := func(k errs.Kind, format string, a ...any) Verdict {
		v.Err = errs.E(op, k, fmt.Errorf(format, a...))
		return v
	}
	if r.Token == "" && r.Pending != nil {
		return fail(errs.NotActivated, "not activated yet: the activation request written on %s waits for its answer (`iscdesk activate --response-file FILE`)",
			r.Pending.CreatedAt.UTC().Format(time.DateOnly))
	}
	c, verr := activation.Verify(r.Token, Trusted(keys, r.Endorsements), now)
	switch {
	case verr == nil, errors.Is(verr, activation.ErrExpired), errors.Is(verr, activation.ErrCheckBy):
	case errors.Is(verr, activation.ErrNotUsable), errors.Is(verr, activation.ErrNotYetValid):
		// Genuine, refused for its content: read it for the rules below.
		c, _ = activation.Parse(r.Token)
	case errors.Is(verr, token.ErrUnknownKey):
		return fail(errs.Tampered, "the activation token is not signed by the vendor key this machine trusts (server_key): it was made elsewhere, or server_key is wrong; activate the license again")
	case errors.Is(verr, token.ErrSignature):
		return fail(errs.Tampered, "the activation token was edited: its signature does not match; activate the license again")
	default:
		return fail(errs.Tampered, "the activation token is damaged (%v): activate the license again", verr)
	}
	r.apply(c)
	if c.ActivationID != r.ActivationID || c.CodeHash != activation.CodeHash(r.License) {
		return fail(errs.Tampered, "the activation token belongs to another activation or license code than the one cached with it: activate the license again")
	}
	cmp, berr := c.Bound(current, r.publicKey())
	v.Changed = cmp.ChangedParts()
	switch {
	case errors.Is(berr, activation.ErrWrongMachine):
		return fail(errs.WrongMachine, "the activation is bound to another machine (changed: %v); activate the license on this machine", v.Changed)
	case errors.Is(berr, activation.ErrDeviceKey):
		return fail(errs.Tampered, "the activation token belongs to another installation (its device key is not this one's): it was copied here; activate the license on this machine")
	case berr != nil:
		return fail(errs.Tampered, "the activation token is damaged (%v): activate the license again", berr)
	}
	if now.Before(r.MaxSeen.Add(-ClockTolerance)) {
		return fail(errs.ClockRollback, "the system clock (%s) is earlier than a time this activation has already seen (%s): correct the clock",
			stamp(now), stamp(r.MaxSeen))
	}
	if now.Before(seen.MaxSeen.Add(-ClockTolerance)) {
		return fail(errs.ClockRollback, "the system clock (%s) is earlier than a time this machine has already seen (%s): correct the clock",
			stamp(now), stamp(seen.MaxSeen))
	}
	if errors.Is(verr, activation.ErrNotYetValid) {
		return fail(errs.ClockRollback, "the license server signed the activation token at %s, later than the system clock (%s): correct the clock",
			stamp(r.LastCheckedAt), stamp(now))
	}
	if k, what := refusedStatus(r.Ended); k != errs.Other {
		r.Status = r.Ended
		return fail(k, "%s (the license server said so on %s)", what, r.EndedAt.UTC().Format(time.DateOnly))
	}
	if known, ok := seen.Known(r.ActivationID); ok {
		if k, what := refusedStatus(known.Status); k != errs.Other {
			return fail(k, "%s: the license server said so on %s, and this cached activation is an older copy", what, known.CheckedAt.UTC().Format(time.DateOnly))
		}
		if r.LastCheckedAt.Before(known.CheckedAt.Add(-ClockTolerance)) {
			return fail(errs.Tampered, "the cached activation is an older copy (its token was issued on %s, this machine has seen one of %s): check online, or activate the license again",
				stamp(r.LastCheckedAt), stamp(known.CheckedAt))
		}
	}
	switch {
	case errors.Is(verr, activation.ErrNotUsable):
		return fail(errs.NotActivated, "the activation token says %q: activate the license again", c.Status)
	case errors.Is(verr, activation.ErrExpired):
		return fail(errs.Expired, "the license expired on %s", r.ExpireTime.Format(time.DateOnly))
	}
	deadline := r.CheckBy
	if grace > 0 && r.LastCheckedAt.Add(grace).Before(deadline) {
		deadline = r.LastCheckedAt.Add(grace)
	}
	v.GraceLeft = deadline.Sub(now)
	if errors.Is(verr, activation.ErrCheckBy) || v.GraceLeft <= 0 {
		v.GraceLeft = 0
		return fail(errs.GraceExpired, "no successful check with the license server since %s, and the activation allowed working offline until %s: connect to the network and check again",
			stamp(r.LastCheckedAt), stamp(deadline))
	}
	return v
}

func (r Record) publicKey() ed25519.PublicKey {
	if k := r.PrivateKey(); k != nil {
		return k.Public().(ed25519.PublicKey)
	}
	return nil
}

// refusedStatus is the kind of a status the server refuses, and its sentence;
// errs.Other for ALIVE (and unknown statuses, which the token rules judge).
func refusedStatus(s Status) (errs.Kind, string) {
	switch s {
	case StatusReleased:
		return errs.Released, "the license was released (refunded) and can no longer be used"
	case StatusExpired:
		return errs.Expired, "the license has expired"
	case StatusRevoked:
		return errs.NotActivated, "the vendor's support revoked this machine's activation"
	case StatusDeactivated:
		return errs.NotActivated, "this machine's seat was freed (deactivated): activate the license again"
	case StatusMoved:
		return errs.WrongMachine, "the seat moved: this machine was activated again by another installation"
	}
	return errs.Other, ""
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// MaxEndorsements bounds the endorsements a record keeps: a chain of
// rotations from the pinned key.
const MaxEndorsements = 8

// Trusted is the pinned keys and every key a chain of the given
// endorsements leads to from them: a key endorsed by a pinned key, a key
// endorsed by that one, and so on. An endorsement no trusted key signed
// adds nothing, so only the vendor (who holds the pinned key's private
// half) can extend the set.
func Trusted(pinned activation.Keys, endorsements []string) activation.Keys {
	keys, _ := chain(pinned, endorsements)
	return keys
}

// chain is Trusted, and the endorsements that added a key, in the order
// they did (at most MaxEndorsements).
func chain(pinned activation.Keys, endorsements []string) (activation.Keys, []string) {
	if len(endorsements) == 0 {
		return pinned, nil
	}
	keys := maps.Clone(pinned)
	var used []string
	for grew := true; grew && len(used) < MaxEndorsements; {
		grew = false
		for _, e := range endorsements {
			pub, err := activation.VerifyEndorsement(e, keys)
			if err != nil {
				continue
			}
			if kid := token.KeyID(pub); keys[kid] == nil {
				keys[kid], grew = pub, true
				used = append(used, e)
			}
		}
	}
	return keys, used
}
