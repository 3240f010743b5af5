package marketplace

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkActivateRoundTrip measures one activation against an in-process
// loopback server that checks the signature: signing, HTTP over a kept-alive
// connection, and parsing. It reports the median besides the mean.
func BenchmarkActivateRoundTrip(b *testing.B) {
	f := newFakeServer(b, reply(200, activateOK))
	c := newTestClient(b, f.srv.URL, func(cfg *Config) { cfg.Logger = nil })
	ctx := b.Context()
	var durations []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := c.Activate(ctx, testCode); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "median-ns/op")
}
