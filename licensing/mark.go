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

// MaxMarkedCodes bounds how many codes a Mark remembers (the most recently
// checked ones), so that one sealed mark fits one keyring entry everywhere
// (secret.MaxValueBytes, the Windows Credential Manager's cap).
const MaxMarkedCodes = 12

// MarkResolution is how far the clock must have moved past Mark.MaxSeen
// before Observe asks for a write: well below ClockTolerance, so writing
// once a minute instead of at every start loses no detection that matters.
const MarkResolution = time.Minute

// Mark is the clock high-water mark: what this machine remembers about time
// and about license codes outside the cached record, so that restoring an
// older copy of the record (a backup, a snapshot of the keyring) does not
// bring back the time or the state it had then. The stores keep it sealed
// in several places and merge what they find (MergeMarks); the Service
// reads and raises it under its lock in every flow that validates.
//
// Everything in it only ever tightens: MaxSeen and each code's CheckedAt
// go up, and a code the marketplace said was released or expired stays so
// until the marketplace says otherwise (Answer) or the code is activated
// again (Restart). Only a fresh activation, a time the marketplace vouched
// for, lowers MaxSeen.
type Mark struct {
	Version int `json:"v"`
	// MaxSeen is the latest clock reading a validation has seen.
	MaxSeen time.Time `json:"max_seen"`
	// Codes is the newest known state of each code, by CodeKey: the mark's
	// files are sealed, not encrypted, and need not show the codes.
	Codes map[string]CodeMark `json:"codes,omitempty"`
}

// CodeKey is the key of a code in Mark.Codes: a hash that names the code
// without showing it.
func CodeKey(code string) string {
	sum := sha256.Sum256([]byte("iscdesk/mark-code\x00" + code))
	return hex.EncodeToString(sum[:16])
}

// Known returns what the mark knows of code.
func (m Mark) Known(code string) (CodeMark, bool) {
	if len(m.Codes) == 0 {
		return CodeMark{}, false
	}
	c, ok := m.Codes[CodeKey(code)]
	return c, ok
}

// CodeMark is the newest known state of one license code.
type CodeMark struct {
	// Status is the last status the marketplace reported (or a cached
	// record carried) for the code.
	Status Status `json:"status"`
	// CheckedAt is the newest online check of the code known: a cached
	// record whose LastCheckedAt is older is an older copy.
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

// Answer records what the marketplace said about code at at: its status,
// and a CheckedAt that never goes back. It reports whether the mark
// changed.
func (m *Mark) Answer(code string, s Status, at time.Time) bool {
	old, ok := m.Known(code)
	next := CodeMark{Status: s, CheckedAt: at.UTC()}
	if ok && old.CheckedAt.After(next.CheckedAt) {
		next.CheckedAt = old.CheckedAt
	}
	return m.put(CodeKey(code), next, ok && old.Status == next.Status && old.CheckedAt.Equal(next.CheckedAt))
}

// Restart records a fresh activation of code at now: the marketplace has
// just confirmed both the code's status and, through the signed request's
// date that its gateway checks, the clock. MaxSeen and the code's state
// start again from now, so a clock that was once far ahead can be put
// right by activating again.
func (m *Mark) Restart(code string, s Status, now time.Time) {
	m.MaxSeen = now.UTC()
	m.put(CodeKey(code), CodeMark{Status: s, CheckedAt: now.UTC()}, false)
}

// Learn records the state of a cached record the checks accepted: a code
// the mark does not know yet (an authorization cached before the mark
// existed), or a newer check of a code last known ALIVE. It never turns a
// released or expired code back: only the marketplace (Answer) or an
// activation (Restart) does. It reports whether the mark changed.
func (m *Mark) Learn(code string, s Status, checkedAt time.Time) bool {
	old, ok := m.Known(code)
	switch {
	case !ok:
	case !checkedAt.After(old.CheckedAt):
		return false
	case old.Status != StatusAlive && s != old.Status:
		return false
	}
	return m.put(CodeKey(code), CodeMark{Status: s, CheckedAt: checkedAt.UTC()}, false)
}

// put stores c under key unless same, dropping the codes checked longest
// ago past MaxMarkedCodes. It reports whether the mark changed.
func (m *Mark) put(key string, c CodeMark, same bool) bool {
	if same {
		return false
	}
	if m.Codes == nil {
		m.Codes = map[string]CodeMark{}
	}
	m.Codes[key] = c
	for len(m.Codes) > MaxMarkedCodes {
		oldest := slices.MinFunc(slices.Collect(maps.Keys(m.Codes)), func(a, b string) int {
			return m.Codes[a].CheckedAt.Compare(m.Codes[b].CheckedAt)
		})
		delete(m.Codes, oldest)
	}
	return true
}

// MergeMarks combines copies of the mark into the tightest of them: the
// latest MaxSeen and, per code, the newest check (on a tie, a status other
// than ALIVE wins). A copy restored from a backup, or one left behind when
// another was deleted, thus never loosens what the others remember.
func MergeMarks(copies ...Mark) Mark {
	out := Mark{Version: MarkVersion}
	for _, c := range copies {
		if c.MaxSeen.After(out.MaxSeen) {
			out.MaxSeen = c.MaxSeen
		}
		for key, cm := range c.Codes {
			old, ok := out.Codes[key]
			if ok && (old.CheckedAt.After(cm.CheckedAt) || old.CheckedAt.Equal(cm.CheckedAt) && cm.Status == StatusAlive) {
				continue
			}
			out.put(key, cm, false)
		}
	}
	return out
}
