package licensing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"
)

// MarkVersion is the format version of Mark.
const MarkVersion = 1

// MaxMarked bounds how many activations a Mark remembers (the most
// recently checked ones), so that one sealed mark fits one keyring entry everywhere
// (secret.MaxValueBytes, the Windows Credential Manager's cap).
const MaxMarked = 12

// MarkResolution is how far the clock must have moved past Mark.MaxSeen
// before Observe asks for a write: well below ClockTolerance, so writing
// once a minute instead of at every start loses no detection that matters.
const MarkResolution = time.Minute

// Mark is the clock high-water mark: what this machine remembers about time
// and about its activations outside the cached record, so that restoring an
// older copy of the record (a backup, a snapshot of the keyring) does not
// bring back the time or the state it had then. The stores keep it sealed
// in several places and merge what they find (MergeMarks); the Service
// reads and raises it under its lock in every flow that validates.
//
// Everything in it only ever tightens: MaxSeen and each activation's
// CheckedAt go up, and an activation the license server said was released,
// expired, revoked, deactivated or moved stays so until the server says
// otherwise (Answer) or it is activated again (Restart). Only a fresh
// activation, a time the server vouched for, lowers MaxSeen.
type Mark struct {
	Version int `json:"v"`
	// MaxSeen is the latest clock reading a validation has seen.
	MaxSeen time.Time `json:"max_seen"`
	// Activations is the newest known state of each activation, by Key:
	// the mark's files are sealed, not encrypted, and need not show the
	// activation ids.
	Activations map[string]Known `json:"activations,omitempty"`
}

// Key is the key of an activation in Mark.Activations: a hash that names
// the activation id without showing it.
func Key(activationID string) string {
	sum := sha256.Sum256([]byte("iscdesk/mark-activation\x00" + activationID))
	return hex.EncodeToString(sum[:16])
}

// Known returns what the mark knows of an activation.
func (m Mark) Known(activationID string) (Known, bool) {
	if len(m.Activations) == 0 {
		return Known{}, false
	}
	c, ok := m.Activations[Key(activationID)]
	return c, ok
}

// Known is the newest known state of one activation.
type Known struct {
	// Status is the last status the license server gave (or a cached
	// token carried) for the activation.
	Status Status `json:"status"`
	// CheckedAt is the newest successful check known (the server's time
	// in the token it issued): a cached token issued earlier is an older
	// copy.
	CheckedAt time.Time `json:"checked_at"`
}

// MarkStore keeps the Mark apart from the record (package store keeps it in
// the keyring and in files). Calls are serialised by the Service.
type MarkStore interface {
	// LoadMark returns what the readable copies hold, merged; the zero Mark
	// when none exists. A non-nil error says which copies could not be read
	// (kind Storage) or that the caller gave up (kind Canceled); the Mark
	// returned beside it is still what the other copies hold.
	LoadMark(ctx context.Context) (Mark, error)
	// SaveMark writes m to every copy. A non-nil error names the copies that
	// could not be written.
	SaveMark(ctx context.Context, m Mark) error
}

// Observe raises MaxSeen to now. It reports whether the mark moved by
// MarkResolution or more and is worth saving.
func (m *Mark) Observe(now time.Time) bool {
	if !now.After(m.MaxSeen) {
		return false
	}
	worth := m.MaxSeen.IsZero() || now.Sub(m.MaxSeen) >= MarkResolution
	m.MaxSeen = now.UTC()
	return worth
}

// Answer records what the license server said about an activation at at:
// its status, and a CheckedAt that never goes back. It reports whether the
// mark changed.
func (m *Mark) Answer(activationID string, s Status, at time.Time) bool {
	old, ok := m.Known(activationID)
	next := Known{Status: s, CheckedAt: at.UTC()}
	if ok && old.CheckedAt.After(next.CheckedAt) {
		next.CheckedAt = old.CheckedAt
	}
	return m.put(Key(activationID), next, ok && old.Status == next.Status && old.CheckedAt.Equal(next.CheckedAt))
}

// Restart records a fresh activation at now, checked at checkedAt (the
// server's time in the token it just signed): the server has just
// confirmed the activation's status and, within the skew it allows, the
// clock. MaxSeen starts again from now, so a clock that was once far ahead
// can be put right by activating again.
func (m *Mark) Restart(activationID string, s Status, checkedAt, now time.Time) {
	m.MaxSeen = now.UTC()
	m.put(Key(activationID), Known{Status: s, CheckedAt: checkedAt.UTC()}, false)
}

// Learn records the state of a cached token the checks accepted: an
// activation the mark does not know yet, or a newer check of one last known
// ALIVE. It never turns a refused activation back: only the server (Answer)
// or an activation (Restart) does. It reports whether the mark changed.
func (m *Mark) Learn(activationID string, s Status, checkedAt time.Time) bool {
	old, ok := m.Known(activationID)
	switch {
	case !ok:
	case !checkedAt.After(old.CheckedAt):
		return false
	case old.Status != StatusAlive && s != old.Status:
		return false
	}
	return m.put(Key(activationID), Known{Status: s, CheckedAt: checkedAt.UTC()}, false)
}

// put stores c under key unless same, dropping the activations checked longest
// ago past MaxMarked. It reports whether the mark changed.
func (m *Mark) put(key string, c Known, same bool) bool {
	if same {
		return false
	}
	if m.Activations == nil {
		m.Activations = map[string]Known{}
	}
	m.Activations[key] = c
	for len(m.Activations) > MaxMarked {
		oldest := slices.MinFunc(slices.Collect(maps.Keys(m.Activations)), func(a, b string) int {
			return m.Activations[a].CheckedAt.Compare(m.Activations[b].CheckedAt)
		})
		delete(m.Activations, oldest)
	}
	return true
}

// MergeMarks combines copies of the mark into the tightest of them: the
// latest MaxSeen and, per activation, the newest check (on a tie, a status other
// than ALIVE wins). A copy restored from a backup, or one left behind when
// another was deleted, thus never loosens what the others remember.
func MergeMarks(copies ...Mark) Mark {
	out := Mark{Version: MarkVersion}
	for _, c := range copies {
		if c.MaxSeen.After(out.MaxSeen) {
			out.MaxSeen = c.MaxSeen
		}
		for key, cm := range c.Activations {
			old, ok := out.Activations[key]
			if ok && (old.CheckedAt.After(cm.CheckedAt) || old.CheckedAt.Equal(cm.CheckedAt) && cm.Status == StatusAlive) {
				continue
			}
			out.put(key, cm, false)
		}
	}
	return out
}
