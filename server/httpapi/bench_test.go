package httpapi_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// BenchmarkCheck: signed checks through the API in process (client and
// server in one profile), 200 devices at once, SQLite. The figures of the
// built server are cmd/iscdesk-server's benchmarks.
func BenchmarkCheck(b *testing.B) {
	f := start(b, httpapi.Limits{PerAddr: -1, ActivatePerAddr: -1, ActivatePerCode: -1})
	code := f.env.Code(b, 1000)
	const devices = 200
	ds := make([]*servertest.Device, devices)
	ids := make([]string, devices)
	for i := range ds {
		ds[i] = servertest.NewDevice(i)
		g, err := activate(f, ds[i], code)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = g.ActivationID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range devices {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := f.client.Check(ctx, ids[i], ds[i].Key, ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
