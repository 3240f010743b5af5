package filecopy

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestMeter(t *testing.T) {
	const minStep = 100
	tests := []struct {
		name  string
		total int64
		adds  []int64
		want  [][2]int64 // reports, Finish's last
	}{
		{"small", 50, []int64{50}, [][2]int64{{50, 50}}},
		{"steps", 250, []int64{60, 60, 60, 60, 10}, [][2]int64{{120, 250}, {240, 250}, {250, 250}}},
		{"1% is coarser", 100000, []int64{999, 1, 998, 1}, [][2]int64{{1000, 100000}, {100000, 100000}}},
		{"unknown total", -1, []int64{150, 50, 150}, [][2]int64{{150, -1}, {350, -1}, {350, -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]int64
			m := NewMeter(func(done, total int64) { got = append(got, [2]int64{done, total}) }, tt.total, minStep)
			for _, n := range tt.adds {
				m.Add(n)
			}
			m.Finish()
			if len(got) != len(tt.want) {
				t.Fatalf("reports %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("reports %v, want %v", got, tt.want)
				}
			}
		})
	}
	if got := NewMeter(nil, 1000*minStep, minStep).step; got != 10*minStep {
		t.Errorf("step for a huge file is %d, want 1%%", got)
	}
	var m *Meter // counts nothing, never fails
	m.Add(1)
	m.Finish()
}

func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var reported int64
	m := NewMeter(func(done, _ int64) { reported = done }, 30, 10)
	r := NewReader(ctx, strings.NewReader(strings.Repeat("x", 30)), m)
	buf := make([]byte, 12)
	if n, err := io.ReadFull(r, buf); n != 12 || err != nil {
		t.Fatal(n, err)
	}
	if m.Done() != 12 || reported != 12 {
		t.Errorf("counted %d, reported %d", m.Done(), reported)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v", err)
	}
}

// A resumed download starts counting at what is already there, without
// reporting those bytes.
func TestMeterSkip(t *testing.T) {
	var got [][2]int64
	m := NewMeter(func(done, total int64) { got = append(got, [2]int64{done, total}) }, 100, 10)
	m.Skip(40)
	if len(got) != 0 || m.Done() != 40 {
		t.Fatalf("after Skip: reports %v, done %d", got, m.Done())
	}
	m.Add(5)
	m.Add(5)
	if len(got) != 1 || got[0] != [2]int64{50, 100} {
		t.Fatalf("reports %v, want one at 50", got)
	}
}
