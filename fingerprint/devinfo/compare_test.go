package devinfo

import (
	"slices"
	"strings"
	"testing"
)

// fp parses a fingerprint string of the tests.
func fp(t *testing.T, s string) Components {
	t.Helper()
	c, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The fingerprints of the table: a workstation with two network cards, two
// disks and a readable board serial; a virtual machine (one MAC, virtio disks
// without a serial, no board serial); a container that sees its host's disks
// but only virtual network interfaces.
const (
	workstation = "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK2|BOARD1|BFEBFBFF000906EA"
	vm          = "52:54:00:00:00:01|||BFEBFBFF000906EA"
	container   = "|HOSTDISK1,HOSTDISK2||BFEBFBFF000906EA"
)

// compareCases is the policy in examples: the stored fingerprint (the one a
// license is bound to), the current one, and the verdict.
var compareCases = []struct {
	name            string
	stored, current string
	same            bool
	changed         []string
}{
	// A workstation's parts replaced one by one.
	{"workstation: identical", workstation, workstation, true, []string{}},
	{"workstation: both network cards replaced", workstation, "0A:00:00:00:00:09|DISK1,DISK2|BOARD1|BFEBFBFF000906EA", true, []string{"mac"}},
	{"workstation: one network card of two replaced", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:09|DISK1,DISK2|BOARD1|BFEBFBFF000906EA", true, []string{"mac"}},
	{"workstation: a network card added", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02,0A:00:00:00:00:03|DISK1,DISK2|BOARD1|BFEBFBFF000906EA", true, []string{"mac"}},
	{"workstation: a network card removed", workstation, "0A:00:00:00:00:01|DISK1,DISK2|BOARD1|BFEBFBFF000906EA", true, []string{"mac"}},
	{"workstation: one disk of two replaced", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK9|BOARD1|BFEBFBFF000906EA", true, []string{"disk"}},
	{"workstation: both disks replaced", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK8,DISK9|BOARD1|BFEBFBFF000906EA", true, []string{"disk"}},
	{"workstation: mainboard replaced", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK2|BOARD9|BFEBFBFF000906EA", true, []string{"board"}},
	{"workstation: CPU replaced by another model", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK2|BOARD1|BFEBFBFF000A0671", true, []string{"cpu"}},
	{"workstation: network cards replaced, a disk kept of two", workstation, "0A:00:00:00:00:09|DISK1,DISK9|BOARD1|BFEBFBFF000906EA", true, []string{"mac", "disk"}},
	{"workstation: board serial unreadable (one part hidden)", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK2||BFEBFBFF000906EA", true, []string{"board"}},
	{"workstation: two parts replaced (mainboard and disks)", workstation, "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK9|BOARD9|BFEBFBFF000906EA", false, []string{"disk", "board"}},
	{"workstation: two parts replaced (network cards and CPU)", workstation, "0A:00:00:00:00:09|DISK1,DISK2|BOARD1|OTHERCPU", false, []string{"mac", "cpu"}},
	{"workstation: one part replaced, one hidden", workstation, "0A:00:00:00:00:09|DISK1,DISK2||BFEBFBFF000906EA", false, []string{"mac", "board"}},
	{"workstation: two parts hidden", workstation, "||BOARD1|BFEBFBFF000906EA", false, []string{"mac", "disk"}},
	{"workstation: everything hidden but the CPU", workstation, "|||BFEBFBFF000906EA", false, []string{"mac", "disk", "board"}},
	{"workstation: another machine with the same CPU model", workstation, "0A:00:00:00:00:07|DISK7|BOARD7|BFEBFBFF000906EA", false, []string{"mac", "disk", "board"}},
	{"workstation: the board became readable (added)", "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1,DISK2||BFEBFBFF000906EA", workstation, true, []string{"board"}},

	// Virtual machines: one MAC, the CPU model of the host.
	{"vm: after a reboot", vm, vm, true, []string{}},
	{"vm: another VM of the same CPU model", vm, "52:54:00:00:00:02|||BFEBFBFF000906EA", false, []string{"mac"}},
	{"vm: moved to a host with another CPU model", vm, "52:54:00:00:00:01|||BFEBFBFF000A0671", true, []string{"cpu"}},
	{"vm: a second network card added", vm, "52:54:00:00:00:01,52:54:00:00:00:02|||BFEBFBFF000906EA", true, []string{"mac"}},
	{"vm: a disk with a serial added", vm, "52:54:00:00:00:01|VDISK1||BFEBFBFF000906EA", true, []string{"disk"}},
	{"vm: MAC hidden", vm, "|||BFEBFBFF000906EA", false, []string{"mac"}},
	{"vm: MAC replaced and CPU model changed", vm, "52:54:00:00:00:02|||BFEBFBFF000A0671", false, []string{"mac", "cpu"}},

	// Containers: the host's disks, no physical network card.
	{"container: restarted on the same host", container, container, true, []string{}},
	{"container: host's disk replaced of two", container, "|HOSTDISK1,HOSTDISK9||BFEBFBFF000906EA", true, []string{"disk"}},
	{"container: moved to another host of the same CPU model", container, "|OTHERDISK1||BFEBFBFF000906EA", false, []string{"disk"}},

	// Bindings without a unit part bind to nothing.
	{"CPU-only binding on the same CPU model", "|||BFEBFBFF000906EA", "|||BFEBFBFF000906EA", false, []string{}},
	{"CPU-only binding on a full machine with that CPU", "|||BFEBFBFF000906EA", workstation, false, []string{"mac", "disk", "board"}},
	{"empty binding on an empty fingerprint", "|||", "|||", false, []string{}},
	{"empty binding on a full machine", "|||", workstation, false, []string{"mac", "disk", "board", "cpu"}},

	// A board-only binding (a machine whose board is the one readable part).
	{"board only: same board, CPU now readable", "||BOARD1|", "||BOARD1|BFEBFBFF000906EA", true, []string{"cpu"}},
	{"board only: board replaced", "||BOARD1|BFEBFBFF000906EA", "||BOARD9|BFEBFBFF000906EA", false, []string{"board"}},
	// A stored list with duplicates (Parse keeps them) is not the same set
	// as a current list that merely holds each of its values.
	{"duplicated stored MAC", "0A:00:00:00:00:01,0A:00:00:00:00:01|DISK1||", "0A:00:00:00:00:01,0A:00:00:00:00:02|DISK1||", true, []string{"mac"}},
}

func TestCompare(t *testing.T) {
	if len(compareCases) < 20 {
		t.Fatalf("%d cases; the policy wants at least 20", len(compareCases))
	}
	for _, tc := range compareCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(fp(t, tc.stored), fp(t, tc.current))
			if got.SameMachine != tc.same || !slices.Equal(got.ChangedParts(), tc.changed) {
				t.Errorf("same=%v changed=%v, want %v %v (states %v)", got.SameMachine, got.ChangedParts(), tc.same, tc.changed, got.States)
			}
			if (got.Reason() == "") != tc.same {
				t.Errorf("reason %q with same=%v", got.Reason(), got.SameMachine)
			}
		})
	}
}

func TestCompareReason(t *testing.T) {
	for _, tc := range []struct{ stored, current, want string }{
		{"|||BFEBFBFF000906EA", "|||BFEBFBFF000906EA", "names no network card"},
		{workstation, "|||BFEBFBFF000906EA", "more than one part"},
		{vm, "52:54:00:00:00:02|||BFEBFBFF000906EA", "no network card, disk or board in common"},
	} {
		if got := Compare(fp(t, tc.stored), fp(t, tc.current)).Reason(); !strings.Contains(got, tc.want) {
			t.Errorf("%s vs %s: reason %q, want %q", tc.stored, tc.current, got, tc.want)
		}
	}
}

func TestNeedsMachineID(t *testing.T) {
	for _, tc := range []struct {
		fp    string
		units int
		needs bool
	}{
		{workstation, 3, false},
		{vm, 1, true},
		{container, 1, true},
		{"||BOARD1|BFEBFBFF000906EA", 1, true},
		{"52:54:00:00:00:01|VDISK1||", 2, false},
		{"|||BFEBFBFF000906EA", 0, false},
		{"|||", 0, false},
	} {
		c := fp(t, tc.fp)
		if c.Units() != tc.units || c.NeedsMachineID() != tc.needs {
			t.Errorf("%s: units %d needs %v, want %d %v", tc.fp, c.Units(), c.NeedsMachineID(), tc.units, tc.needs)
		}
	}
}

func TestForeign(t *testing.T) {
	for _, tc := range []struct {
		name, requested string
		want            []Part
	}{
		{"identical", workstation, []Part{}},
		{"a subset (a program that reads less)", "0A:00:00:00:00:02|DISK1||", []Part{}},
		{"empty", "|||", []Part{}},
		{"another machine's MAC mixed in", "0A:00:00:00:00:01,0B:00:00:00:00:01|DISK1,DISK2|BOARD1|BFEBFBFF000906EA", []Part{PartMAC}},
		{"another machine's disk mixed in", "0A:00:00:00:00:01|DISK1,OTHERDISK||", []Part{PartDisk}},
		{"another board", "0A:00:00:00:00:01|DISK1|BOARD9|", []Part{PartBoard}},
		{"another CPU", "0A:00:00:00:00:01|||OTHERCPU", []Part{PartCPU}},
		{"another machine", "0B:00:00:00:00:01|OTHERDISK|BOARD9|OTHERCPU", []Part{PartMAC, PartDisk, PartBoard, PartCPU}},
	} {
		if got := Foreign(fp(t, tc.requested), fp(t, workstation)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The union attack Foreign exists for: one request listing two machines'
// values passes Compare on both.
func TestForeignUnion(t *testing.T) {
	a := fp(t, "0A:00:00:00:00:01|DISKA|BOARDA|BFEBFBFF000906EA")
	b := fp(t, "0B:00:00:00:00:01|DISKB|BOARDB|BFEBFBFF000906EA")
	union := fp(t, "0A:00:00:00:00:01,0B:00:00:00:00:01|DISKA,DISKB|BOARDA|BFEBFBFF000906EA")
	if !Compare(union, a).SameMachine || !Compare(union, b).SameMachine {
		t.Fatal("the union no longer passes Compare on both machines: the example is out of date")
	}
	if got := Foreign(union, a); !slices.Equal(got, []Part{PartMAC, PartDisk}) {
		t.Errorf("Foreign(union, a) = %v", got)
	}
}

// FuzzCompare checks the policy's invariants on any two fingerprints: a
// stored fingerprint without a unit part never matches; a match always
// shares a MAC, a disk serial or the board serial with the current one and
// has at most one part against it; and Foreign is empty only for a subset.
func FuzzCompare(f *testing.F) {
	for _, tc := range compareCases {
		f.Add(tc.stored, tc.current)
	}
	f.Fuzz(func(t *testing.T, stored, current string) {
		s, err1 := Parse(stored)
		c, err2 := Parse(current)
		if err1 != nil || err2 != nil {
			return
		}
		got := Compare(s, c)
		shared := s.Board != "" && s.Board == c.Board
		for _, v := range s.MAC {
			shared = shared || slices.Contains(c.MAC, v)
		}
		for _, v := range s.Disk {
			shared = shared || slices.Contains(c.Disk, v)
		}
		switch {
		case got.SameMachine && s.Units() == 0:
			t.Fatalf("%q matched %q without a unit part", stored, current)
		case got.SameMachine && !shared:
			t.Fatalf("%q matched %q sharing no unit value", stored, current)
		case got.SameMachine && got.Against > 1:
			t.Fatalf("%q matched %q with %d parts against", stored, current, got.Against)
		case got.SameMachine != (got.Reason() == ""):
			t.Fatalf("same=%v reason %q", got.SameMachine, got.Reason())
		}
		if len(Foreign(s, c)) == 0 && (!subset(s.MAC, c.MAC) || !subset(s.Disk, c.Disk) ||
			(s.Board != "" && s.Board != c.Board) || (s.CPU != "" && s.CPU != c.CPU)) {
			t.Fatalf("Foreign(%q, %q) is empty", stored, current)
		}
	})
}
