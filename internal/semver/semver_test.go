package semver

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, good := range []string{"0.0.0", "2.0.0", "2.10.1", "2024.1.0.7", "999999999.0.0", "3.1.0-rc.2",
		"1.0.0-alpha-1", "1.0.0-0", "1.0.0-x.7.z.92", "1.0.0-0a"} {
		v, err := Parse(good)
		if err != nil || v.String() != good {
			t.Errorf("Parse(%q) = %q, %v", good, v, err)
		}
	}
	for _, bad := range []string{
		"", "2", "2.0", "1.2.3.4.5", "v2.0.0", "2.0.0+build", " 2.0.0", "2.0.0 ", "02.0.0", "2.00.0",
		"1000000000.0.0", "2.0.0-", "2.0.0-rc..1", "2.0.0-rc.01", "2.0.0-rc_1", "2..0", "2.0.0.", ".2.0.0",
		"9/../../../autostart/evil", "2.0.0/../x", `2.0.0\..\x`, "..", "2.0.0-../x", "2.0.0-a/b", "2.0.0-\x00",
		"2.0.0-ü", "2.0.0\n", "1.0.0-" + strings.Repeat("a", MaxLen), "-1.0.0", "1.-1.0",
	} {
		if v, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %q, accepted", bad, v)
		} else if len(err.Error()) > 300 {
			t.Errorf("Parse(%q): error of %d bytes", bad, len(err.Error()))
		}
	}
}

func TestParseLoose(t *testing.T) {
	for in, same := range map[string]string{
		"2": "2.0.0", "2.0": "2.0.0", "v3": "3.0.0", " 1.4.2 ": "1.4.2", "1.04.2": "1.4.2",
		"1.0.0+build.5": "1.0.0", "V1.2.3-rc.1+x": "1.2.3-rc.1", "1.2.3.4": "1.2.3.4",
	} {
		v, err := ParseLoose(in)
		if err != nil {
			t.Errorf("ParseLoose(%q): %v", in, err)
			continue
		}
		if w, _ := Parse(same); v.Compare(w) != 0 {
			t.Errorf("ParseLoose(%q) = %v, not the same as %s", in, v, same)
		}
	}
	for _, bad := range []string{"", "dev", "2024 R1", "1.0.0+", "1.0.0+a..b", "1..2", "v", "1.2.3.4.5", "1.0/2"} {
		if v, err := ParseLoose(bad); err == nil {
			t.Errorf("ParseLoose(%q) = %v, accepted", bad, v)
		}
	}
}

func TestCompare(t *testing.T) {
	// Each is older than the next (semver.org §11, plus a fourth number).
	order := []string{
		"0.0.0", "0.0.1", "0.9.0", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1",
		"1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
		"1.0.0.1", "1.0.1", "2.0.0", "2.9.1", "2.10.0", "10.0.0",
	}
	for i, a := range order {
		va, err := Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range order {
			vb, _ := Parse(b)
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = +1
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	// A missing fourth number is 0; prerelease numbers compare by value
	// however long they are.
	for _, same := range [][2]string{{"1.0.0", "1.0.0.0"}, {"1.0.0-007", "1.0.0-7"}} {
		a, _ := ParseLoose(same[0])
		b, _ := ParseLoose(same[1])
		if a.Compare(b) != 0 {
			t.Errorf("%s and %s differ", same[0], same[1])
		}
	}
	long, _ := Parse("1.0.0-" + strings.Repeat("9", 40))
	short, _ := Parse("1.0.0-" + strings.Repeat("9", 39))
	if long.Compare(short) != 1 {
		t.Error("a long numeric identifier is not the larger")
	}
}

// FuzzParse: Parse never panics, what it accepts is safe in a file name and
// reads back the same; ParseLoose accepts all it accepts; Compare is
// antisymmetric.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2.0.0", "1.0.0-rc.1", "v2", "9/../../x", "1.0.0+b", "2024.1.0.7"} {
		f.Add(s, "1.0.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, err := Parse(a)
		if err == nil {
			if va.String() != a || strings.ContainsAny(a, `/\ `) || strings.Contains(a, "..") {
				t.Fatalf("accepted %q", a)
			}
			if _, err := ParseLoose(a); err != nil {
				t.Fatalf("ParseLoose refuses %q: %v", a, err)
			}
		}
		la, errA := ParseLoose(a)
		lb, errB := ParseLoose(b)
		if errA == nil && errB == nil && la.Compare(lb) != -lb.Compare(la) {
			t.Fatalf("Compare(%q, %q) not antisymmetric", a, b)
		}
	})
}
