package devinfo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestRenderPublishedExample(t *testing.T) {
	f := Render(Components{MAC: []string{"04:7c:16:5e:e3:5d"}, Disk: []string{" 001B_444A_488B_5CEC. "}, CPU: "BFEBFBFF00090672"})
	if want := "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672"; f.String() != want {
		t.Errorf("got %s, want %s", f, want)
	}
}

func TestRenderNormalises(t *testing.T) {
	tests := []struct {
		name string
		in   Components
		want string
	}{
		{"empty", Components{}, "|||"},
		{"sorted and de-duplicated", Components{
			MAC:  []string{"bb:00:00:00:00:01", "AA-00-00-00-00-02", "bb:00:00:00:00:01"},
			Disk: []string{"zz9", "aa1", "ZZ9"}},
			"AA:00:00:00:00:02,BB:00:00:00:00:01|AA1,ZZ9||"},
		{"bad MACs dropped", Components{MAC: []string{"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "nonsense", "00:11:22:33:44:55:66:77", "02:00:00:00:00:01"}},
			"02:00:00:00:00:01|||"},
		{"separators removed", Components{Disk: []string{"A|B,C", "\tD\x00E\n"}, Board: "X|Y"}, "|ABC,DE|XY|"},
		{"placeholders", Components{Board: "To be filled by O.E.M."}, "|||"},
		{"placeholder zeros", Components{Board: "00000000"}, "|||"},
		{"placeholder default", Components{Board: " default string "}, "|||"},
		{"real board", Components{Board: "pf0abc12", CPU: "178bfbff00a10f11"}, "||PF0ABC12|178BFBFF00A10F11"},
		{"overlong entry left out", Components{Disk: []string{strings.Repeat("S", 300), "OK"}}, "|OK||"},
	}
	for _, tt := range tests {
		if got := Render(tt.in).String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRenderCapDropsFromLongerList(t *testing.T) {
	var c Components
	for i := range 400 {
		c.MAC = append(c.MAC, fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256))
	}
	for i := range 10 {
		c.Disk = append(c.Disk, fmt.Sprintf("DISK%04d", i))
	}
	c.Board, c.CPU = "BOARD1", "CPU1"
	f := Render(c)
	if !f.Truncated || f.Bytes() > MaxBytes || len(f.Components.Disk) != 10 || f.Components.Board != "BOARD1" {
		t.Fatalf("truncated=%v bytes=%d disks=%d", f.Truncated, f.Bytes(), len(f.Components.Disk))
	}
	// The kept MACs are the first ones in sorted order: entries go from the end.
	if f.Components.MAC[0] != "02:00:00:00:00:00" || f.Bytes() < MaxBytes-18 {
		t.Errorf("first MAC %s, %d bytes", f.Components.MAC[0], f.Bytes())
	}
}

func TestParseRoundTrip(t *testing.T) {
	f := Render(Components{MAC: []string{"02:00:00:00:00:01", "02:00:00:00:00:02"}, Disk: []string{"D1"}, CPU: "C"})
	c, err := Parse(f.String())
	if err != nil {
		t.Fatal(err)
	}
	if Render(c).String() != f.String() {
		t.Errorf("round trip: %+v", c)
	}
	for _, bad := range []string{"", "a|b", "a|b|c|d|e", strings.Repeat("A", MaxBytes+1)} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%.20q) accepted", bad)
		}
	}
}

func TestMarshalJSONContract(t *testing.T) {
	b, err := json.Marshal(Render(Components{CPU: "X"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fingerprint":"|||X","components":{"mac":[],"disk":[],"board":"","cpu":"X"},"truncated":false,"bytes":4}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// FuzzRender checks the rendering invariants: never over MaxBytes, always
// exactly three '|', every entry one of the (normalised) inputs, never a cut
// one, board and CPU never dropped.
func FuzzRender(f *testing.F) {
	f.Add("04:7c:16:5e:e3:5d", "001B_444A_488B_5CEC.", "", "BFEBFBFF00090672", 1)
	f.Add("a|b,c", "x,y|z", "To be filled by O.E.M.", "\x00", 300)
	f.Add("02:00:00:00:00:01", strings.Repeat("S", 254), "B", "C", 40)
	f.Fuzz(func(t *testing.T, mac, disk, board, cpu string, n int) {
		n = min(max(n, 0), 500)
		var c Components
		for i := range n {
			c.MAC = append(c.MAC, fmt.Sprintf("%s%02x:00:00:00:%02x:%02x", "", i%256, i/256, i%256))
			c.Disk = append(c.Disk, fmt.Sprintf("%s-%d", disk, i))
		}
		c.MAC = append(c.MAC, mac)
		c.Disk = append(c.Disk, disk)
		c.Board, c.CPU = board, cpu
		fp := Render(c)
		s := fp.String()
		if len(s) > MaxBytes || fp.Bytes() != len(s) {
			t.Fatalf("%d bytes", len(s))
		}
		if strings.Count(s, "|") != 3 {
			t.Fatalf("%d separators in %q", strings.Count(s, "|"), s)
		}
		fields := strings.Split(s, "|")
		check := func(field string, in []string, norm func(string) string) {
			if field == "" {
				return
			}
			var valid []string
			for _, v := range in {
				valid = append(valid, norm(v))
			}
			for _, e := range strings.Split(field, ",") {
				if e == "" || !slices.Contains(valid, e) {
					t.Fatalf("entry %q is not one of the inputs", e)
				}
			}
		}
		check(fields[0], c.MAC, NormalizeMAC)
		check(fields[1], c.Disk, normaliseValue)
		if fields[2] != normaliseBoard(board) || fields[3] != normaliseValue(cpu) {
			t.Fatalf("board/cpu changed: %q %q", fields[2], fields[3])
		}
		if !fp.Truncated && (len(fp.Components.MAC) != len(normaliseList(c.MAC, NormalizeMAC)) ||
			len(fp.Components.Disk) != len(normaliseList(c.Disk, normaliseValue))) {
			t.Fatal("entries dropped without Truncated")
		}
	})
}

func BenchmarkRender(b *testing.B) {
	c := Components{MAC: []string{"3c:52:82:5a:0e:11", "a0:36:9f:4b:77:e2"}, Disk: []string{"S4EWNX0R123456", "WD-WCC4E1234567"}, Board: "/7XYZ123/CN1296377B0042/", CPU: "BFEBFBFF000906EA"}
	b.ReportAllocs()
	for b.Loop() {
		Render(c)
	}
}
