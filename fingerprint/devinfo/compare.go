package devinfo

import "slices"

// State says how one part of the current fingerprint relates to the stored one.
type State string

// The states of a part, from the stored fingerprint's point of view.
const (
	// Same: equal values (including both empty).
	Same State = "same"
	// Partial: both lists hold values and share at least one, but differ
	// (a network card added or replaced while another stayed).
	Partial State = "partial"
	// Changed: both sides hold values and share none.
	Changed State = "changed"
	// Missing: the stored side has a value, the current side has none.
	Missing State = "missing"
	// Added: the stored side had no value, the current side has one.
	Added State = "added"
)

// UnitParts are the parts that name one machine: a network card's MAC
// address, a disk's serial number, the baseboard's serial number. The CPU
// part is the CPUID signature, which names a CPU model that many machines
// share: it is never one of them.
var UnitParts = [...]Part{PartMAC, PartDisk, PartBoard}

// Comparison is the part-by-part result of Compare.
type Comparison struct {
	// States holds the state of each part.
	States map[Part]State
	// SameMachine is the policy's verdict (see Compare).
	SameMachine bool
	// Units counts the unit parts (UnitParts) that hold a value on the
	// stored side, and UnitMatches those of them that still match (Same or
	// Partial).
	Units, UnitMatches int
	// Against counts the parts, the CPU included, that count against the
	// machine (Changed or Missing).
	Against int
}

// ChangedParts lists the parts whose state is not Same, in fingerprint order
// (mac, disk, board, cpu). It is never nil, so it renders as [] in JSON.
func (c Comparison) ChangedParts() []string {
	out := []string{}
	for _, p := range Parts {
		if c.States[p] != Same {
			out = append(out, string(p))
		}
	}
	return out
}

// Reason says, for people, why the policy refused the machine: "" when it
// is the same machine.
func (c Comparison) Reason() string {
	switch {
	case c.SameMachine:
		return ""
	case c.Units == 0:
		return "the bound fingerprint names no network card, disk or board (a CPU model identifies no machine)"
	case c.Against > 1:
		return "more than one part changed or cannot be read"
	default:
		return "no network card, disk or board in common"
	}
}

// Compare compares a stored fingerprint (the one a license is bound to) with
// the current one (this machine's).
//
// The tolerance policy: hardware is replaced one part at a time, but a
// fingerprint must keep naming one unit.
//
//   - The unit parts are MAC, disk and board (UnitParts). The CPU part is a
//     model, shared by every machine with that CPU: it never counts as a
//     match.
//   - The machine is the same one only when at least one unit part that
//     holds a value on the stored side still matches: Same (equal values) or
//     Partial (at least one MAC or disk serial in common). A part empty on
//     the stored side matches nothing, so a stored fingerprint without a unit
//     part (`|||CPU`, `|||`) binds to no machine and matches none, not even
//     an equal one.
//   - At most one part, the CPU included, may count against the machine:
//     Changed (no value in common) or Missing (a part that held a value
//     before cannot be read now; counting it keeps anyone from passing by
//     hiding parts). An Added part (empty before, read now) counts neither
//     way.
//
// So a new network card, a replaced disk, a new mainboard or a new CPU alone
// keeps the license; two of them do not; nor does another machine with the
// same CPU model.
//
// A stored fingerprint with a single unit part (NeedsMachineID: a virtual
// machine's `MAC|||CPU`, a container's `|DISK||CPU`) is one value anyone
// can copy into a virtual machine; Compare judges the fingerprint alone, and
// the device license adds the OS machine id as a second factor (see the
// package comment).
func Compare(stored, current Components) Comparison {
	c := Comparison{States: map[Part]State{
		PartMAC:   compareList(stored.MAC, current.MAC),
		PartDisk:  compareList(stored.Disk, current.Disk),
		PartBoard: compareValue(stored.Board, current.Board),
		PartCPU:   compareValue(stored.CPU, current.CPU),
	}, Units: stored.Units()}
	for _, p := range Parts {
		switch c.States[p] {
		case Changed, Missing:
			c.Against++
		case Same, Partial:
			if p != PartCPU && !isEmpty(stored, p) {
				c.UnitMatches++
			}
		}
	}
	c.SameMachine = c.UnitMatches >= 1 && c.Against <= 1
	return c
}

// Units counts the unit parts (UnitParts) of c that hold a value.
func (c Components) Units() int {
	n := 0
	for _, p := range UnitParts {
		if !isEmpty(c, p) {
			n++
		}
	}
	return n
}

// NeedsMachineID reports whether a binding to c needs the OS machine id as a
// second factor: c has exactly one unit part, so Compare accepts any machine
// that shows that one value (a virtual machine given the same MAC address).
// With none, c binds to nothing; with two or more, a copy must fake two
// independent parts.
func (c Components) NeedsMachineID() bool { return c.Units() == 1 }

// Foreign lists the parts of requested that hold a value this machine (own)
// does not have: a MAC address or disk serial not among own's, a board or
// CPU other than own's. Empty parts, and lists that leave some of own's
// values out, are not foreign. It is never nil.
//
// The agent issues a device license only for a fingerprint with no foreign
// value: Compare's tolerance is for change over time, while a request is read
// at the same moment as this machine's own fingerprint. A request that mixed
// in other machines' values (`MAC_A,MAC_B|DISK_A,DISK_B|BOARD_A|CPU`) would
// pass Compare here and then verify on machine B too, where its MAC and disk
// lists are Partial.
func Foreign(requested, own Components) []Part {
	out := []Part{}
	if !subset(requested.MAC, own.MAC) {
		out = append(out, PartMAC)
	}
	if !subset(requested.Disk, own.Disk) {
		out = append(out, PartDisk)
	}
	if requested.Board != "" && requested.Board != own.Board {
		out = append(out, PartBoard)
	}
	if requested.CPU != "" && requested.CPU != own.CPU {
		out = append(out, PartCPU)
	}
	return out
}

func subset(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

func isEmpty(c Components, p Part) bool {
	switch p {
	case PartMAC:
		return len(c.MAC) == 0
	case PartDisk:
		return len(c.Disk) == 0
	case PartBoard:
		return c.Board == ""
	default:
		return c.CPU == ""
	}
}

func compareValue(stored, current string) State {
	switch {
	case stored == current:
		return Same
	case stored == "":
		return Added
	case current == "":
		return Missing
	default:
		return Changed
	}
}

func compareList(stored, current []string) State {
	switch {
	case sameSet(stored, current):
		return Same
	case len(stored) == 0:
		return Added
	case len(current) == 0:
		return Missing
	}
	for _, v := range stored {
		if slices.Contains(current, v) {
			return Partial
		}
	}
	return Changed
}

func sameSet(a, b []string) bool {
	return subset(a, b) && subset(b, a)
}
