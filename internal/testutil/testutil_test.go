package testutil

import (
	"strings"
	"sync"
	"testing"
)

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if b.String() != strings.Repeat("x", 800) {
		t.Errorf("%d bytes", len(b.String()))
	}
}

func TestWithLeavesTheBaseAlone(t *testing.T) {
	base := make([]string, 1, 4)
	base[0] = "A=1"
	one, two := With(base, "B=2"), With(base, "B=3")
	if one[1] != "B=2" || two[1] != "B=3" || len(base) != 1 {
		t.Errorf("%q %q %q", base, one, two)
	}
}
