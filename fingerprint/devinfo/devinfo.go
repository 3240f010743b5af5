// Package devinfo is the device fingerprint as a value: the published
// MAC|disk|board|CPU string (what the SDK calls devInfo), how it is rendered
// from its parts, parsed back, and compared part by part with a tolerance
// policy. It probes nothing and imports only the standard library, so the
// SDK that vendors link can check a fingerprint without pulling in the
// hardware probes of package fingerprint.
//
// The rendering rules (the published ones and this project's decisions):
//
//   - Four fields in the order MAC, disk, board, CPU, separated by '|'. Several
//     MAC addresses or disk serials are joined with ','. A value that cannot be
//     read is left empty and the separators stay.
//   - The string is upper case; lists are de-duplicated and sorted, so the same
//     machine gives the same string on every run.
//   - At most MaxBytes (5120) bytes: whole entries are dropped from the end of the
//     longer of the MAC and disk lists until the string fits; an entry is never
//     cut, the board and CPU fields are never dropped, and Truncated says so.
//   - Characters that would break the format (the separators '|' and ',' and
//     control characters) are removed from a value; a value longer than
//     maxEntryBytes is not a serial and is left out, so board and CPU can never
//     push the string over the cap.
//   - Board: vendor placeholders ("To be filled by O.E.M.", "Default string",
//     all zeros, …) are not serials and count as empty.
//
// The binding policy (Compare; docs/fingerprint.md has the reasons):
//
//   - MAC, disk and board are the unit parts (UnitParts): each names one
//     piece of hardware. The CPU part is the CPUID signature, a model that
//     every machine with that CPU shares: it never counts as a match.
//   - A stored fingerprint (the one a license is bound to) and the current
//     one are the same machine when at least one unit part that holds a value
//     on the stored side still matches, and at most one part, the CPU
//     included, changed or went missing. An empty stored part matches
//     nothing: a fingerprint without a unit part (`|||CPU`) binds to no
//     machine.
//   - A fingerprint with a single unit part (NeedsMachineID: a virtual
//     machine's `MAC|||CPU`) is one value a hypervisor setting can copy, so a
//     device license bound to it also binds the protected OS machine id
//     (package fingerprint/osid, the token's "mid" claim), which survives
//     reboots; sdk.VerifyDeviceLicense checks both. The cached authorization
//     is sealed with a key derived from the machine id already.
//   - The agent issues a device license only for a fingerprint that Compare
//     accepts as this machine's and that holds no value this machine does
//     not have (Foreign); it may leave parts out.
package devinfo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MaxBytes is the published maximum length of a fingerprint string.
const MaxBytes = 5120

// maxEntryBytes bounds one MAC, serial, board or CPU value. Real serials are
// at most a few dozen bytes; anything longer is garbage from a broken device or
// driver and is left out instead of being cut.
const maxEntryBytes = 255

// Part names one of the four components of a fingerprint.
type Part string

// The four parts, in the order of the fingerprint string.
const (
	PartMAC   Part = "mac"
	PartDisk  Part = "disk"
	PartBoard Part = "board"
	PartCPU   Part = "cpu"
)

// Parts lists the four parts in the order of the fingerprint string.
var Parts = [...]Part{PartMAC, PartDisk, PartBoard, PartCPU}

// Components holds the values behind a fingerprint.
type Components struct {
	MAC   []string `json:"mac"`
	Disk  []string `json:"disk"`
	Board string   `json:"board"`
	CPU   string   `json:"cpu"`
}

// Fingerprint is a rendered device fingerprint.
type Fingerprint struct {
	// Components holds the normalised values that the string shows (after
	// truncation, if any).
	Components Components
	// Truncated reports that entries were dropped to respect MaxBytes.
	Truncated bool
	// Sources says where each part's values were read, for people (support
	// engineers, the Device screen). Empty when unknown.
	Sources map[Part]string
	// Problems lists probes that failed or timed out. A failed probe leaves
	// its part empty; it never fails the whole fingerprint.
	Problems []Problem

	s string
}

// Problem is a probe that could not read its part.
type Problem struct {
	Part Part
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("%s: %v", p.Part, p.Err) }

// String returns the MAC|disk|board|CPU string.
func (f Fingerprint) String() string { return f.s }

// Bytes returns the length of the string in bytes.
func (f Fingerprint) Bytes() int { return len(f.s) }

// MarshalJSON renders the fields of the CLI contract:
// {"fingerprint", "components", "truncated", "bytes"}.
func (f Fingerprint) MarshalJSON() ([]byte, error) {
	c := f.Components
	if c.MAC == nil {
		c.MAC = []string{}
	}
	if c.Disk == nil {
		c.Disk = []string{}
	}
	return json.Marshal(struct {
		Fingerprint string     `json:"fingerprint"`
		Components  Components `json:"components"`
		Truncated   bool       `json:"truncated"`
		Bytes       int        `json:"bytes"`
	}{f.s, c, f.Truncated, len(f.s)})
}

// Render normalises c and renders it. Values are trimmed, upper-cased, cleaned
// of separator and control characters, de-duplicated and sorted; MAC
// addresses that do not parse as 6-byte hardware addresses or are all zeros
// are left out, as are board placeholders. Then the 5120-byte cap is applied.
func Render(c Components) Fingerprint {
	n := Components{
		MAC:   normaliseList(c.MAC, NormalizeMAC),
		Disk:  normaliseList(c.Disk, normaliseValue),
		Board: normaliseBoard(c.Board),
		CPU:   normaliseValue(c.CPU),
	}
	truncated := false
	for size(n) > MaxBytes {
		// Drop from the end of the longer list. Both cannot be empty here:
		// board and CPU are at most maxEntryBytes each.
		if joinedLen(n.MAC) >= joinedLen(n.Disk) {
			n.MAC = n.MAC[:len(n.MAC)-1]
		} else {
			n.Disk = n.Disk[:len(n.Disk)-1]
		}
		truncated = true
	}
	return Fingerprint{Components: n, Truncated: truncated, s: join(n)}
}

// Parse splits a fingerprint string back into its components, for comparing a
// stored fingerprint with the current one. It does not normalise: it expects
// a string made by Render.
func Parse(s string) (Components, error) {
	if len(s) > MaxBytes {
		return Components{}, fmt.Errorf("fingerprint: %d bytes, more than %d", len(s), MaxBytes)
	}
	f := strings.Split(s, "|")
	if len(f) != 4 {
		return Components{}, fmt.Errorf("fingerprint: want 4 fields separated by '|', got %d", len(f))
	}
	split := func(v string) []string {
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	return Components{MAC: split(f[0]), Disk: split(f[1]), Board: f[2], CPU: f[3]}, nil
}

func join(c Components) string {
	var b strings.Builder
	b.Grow(size(c))
	b.WriteString(strings.Join(c.MAC, ","))
	b.WriteByte('|')
	b.WriteString(strings.Join(c.Disk, ","))
	b.WriteByte('|')
	b.WriteString(c.Board)
	b.WriteByte('|')
	b.WriteString(c.CPU)
	return b.String()
}

func size(c Components) int {
	return joinedLen(c.MAC) + joinedLen(c.Disk) + len(c.Board) + len(c.CPU) + 3
}

func joinedLen(l []string) int {
	if len(l) == 0 {
		return 0
	}
	n := len(l) - 1
	for _, s := range l {
		n += len(s)
	}
	return n
}
