package sdk_test

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkCallRoundTrip measures one call answered at once by the fake
// agent over a real Unix socket: marshal, write, the agent's read and reply,
// the reader goroutine's hand-over. It reports the median, which ignores
// the scheduler's occasional hiccups that dominate a mean at this scale.
func BenchmarkCallRoundTrip(b *testing.B) {
	a := newFakeAgent(b)
	c := connect(b, a)
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := c.LicenseVerifyNotify(ctx, true, ""); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds())/1e3, "median-µs")
}
