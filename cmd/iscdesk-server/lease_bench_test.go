package main_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
)

// The heartbeat figures (README): 1,000 leases held at once on a floating
// code, renewed over HTTP on loopback by benchHeartbeatWorkers concurrent
// callers (the load generator, in this process, shares the 2 cores), on
// one server with SQLite and on two servers sharing PostgreSQL.

const benchLeases, benchHeartbeatWorkers = 1000, 64

var floatingProduct = map[string]any{"default_product": map[string]any{"seat_multiplier": 1, "grace_days": 7, "license_model": "floating"}}

type leaseFleet struct {
	*fleet
	leases []wire.LeaseAnswer
}

func startLeaseFleet(b *testing.B, replicas int, postgres bool) *leaseFleet {
	f := &leaseFleet{fleet: startFleetWith(b, replicas, postgres, benchLeases, floatingProduct)}
	f.leases = make([]wire.LeaseAnswer, benchLeases)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < benchLeases; i = int(next.Add(1) - 1) {
				l, err := f.clients[i%replicas].Lease(ctx, f.ids[i], f.devices[i].Key, wire.LeaseRequest{RequestID: servertest.Nonce(), App: "bench"})
				if err != nil {
					b.Error(err)
					return
				}
				f.leases[i] = l
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return f
}

func (f *leaseFleet) heartbeats(b *testing.B) {
	var k atomic.Int64
	f.run(b, benchHeartbeatWorkers, "heartbeats", func(i int, c *client.Client) error {
		l := f.leases[int(k.Add(1))%benchLeases]
		_, err := c.Heartbeat(ctx, l.LeaseID, l.Secret)
		return err
	})
}

func BenchmarkHeartbeatSQLite(b *testing.B) { startLeaseFleet(b, 1, false).heartbeats(b) }

func BenchmarkHeartbeatPostgres2(b *testing.B) { startLeaseFleet(b, 2, true).heartbeats(b) }
