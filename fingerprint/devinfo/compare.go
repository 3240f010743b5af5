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

// Comparison is the part-by-part result of Compare.
type Comparison struct {
	// States holds the state of each part.
	States map[Part]State
	// SameMachine is the policy's verdict (see Compare).
	SameMachine bool
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

// Compare compares a stored fingerprint with the current one.
//
// The tolerance policy: hardware is replaced one part at a time, so
//
//   - a part counts against the machine when it Changed (no value in common)
//     or went Missing (a part that could be read before cannot be now: an
//     attacker could otherwise hide parts to pass);
//   - a Partial list (at least one MAC or disk in common) and an Added part
//     do not count against it;
//   - the machine is the same one when at most one part counts against it and
//     at least one part that held a value on both sides still matches (Same
//     or Partial). A stored fingerprint with no values at all binds to
//     nothing and matches only an equally empty one.
//
// So a new network card, a replaced disk or a new mainboard alone keeps the
// license; a new mainboard with new disks does not.
func Compare(stored, current Components) Comparison {
	c := Comparison{States: map[Part]State{
		PartMAC:   compareList(stored.MAC, current.MAC),
		PartDisk:  compareList(stored.Disk, current.Disk),
		PartBoard: compareValue(stored.Board, current.Board),
		PartCPU:   compareValue(stored.CPU, current.CPU),
	}}
	against, matching := 0, 0
	for _, p := range Parts {
		switch c.States[p] {
		case Changed, Missing:
			against++
		case Partial:
			matching++
		case Same:
			if !isEmpty(stored, p) {
				matching++
			}
		}
	}
	storedEmpty := isEmpty(stored, PartMAC) && isEmpty(stored, PartDisk) &&
		isEmpty(stored, PartBoard) && isEmpty(stored, PartCPU)
	if storedEmpty {
		c.SameMachine = against == 0 && c.States[PartMAC] == Same && c.States[PartDisk] == Same &&
			c.States[PartBoard] == Same && c.States[PartCPU] == Same
	} else {
		c.SameMachine = against <= 1 && matching >= 1
	}
	return c
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
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}
