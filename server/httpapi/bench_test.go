package httpapi_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
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

// BenchmarkHeartbeat: lease heartbeats through the API in process (client
// and server in one profile), 1,000 leases renewed by 64 callers, SQLite.
// The figures of the built server are cmd/iscdesk-server's benchmarks.
func BenchmarkHeartbeat(b *testing.B) {
	f := startWith(b, httpapi.Limits{PerAddr: -1, ActivatePerAddr: -1, ActivatePerCode: -1}, "", floatingCfg)
	const leases, callers = 1000, 64
	// Keep-alive connections for every caller, as a desktop fleet has.
	f.client.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers}}
	code := f.env.Code(b, leases)
	ls := make([]wire.LeaseAnswer, leases)
	for i := range ls {
		d := servertest.NewDevice(i)
		g, err := activate(f, d, code)
		if err != nil {
			b.Fatal(err)
		}
		if ls[i], err = f.client.Lease(ctx, g.ActivationID, d.Key, wire.LeaseRequest{RequestID: servertest.Nonce()}); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range callers {
		wg.Go(func() {
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				l := ls[n%leases]
				if _, err := f.client.Heartbeat(ctx, l.LeaseID, l.Secret); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
