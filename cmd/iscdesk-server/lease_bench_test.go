package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	before := f.cpu()
	f.run(b, benchHeartbeatWorkers, "heartbeats", func(i int, c *client.Client) error {
		l := f.leases[int(k.Add(1))%benchLeases]
		_, err := c.Heartbeat(ctx, l.LeaseID, l.Secret)
		return err
	})
	// Where the time goes: CPU per heartbeat of the server processes, of
	// PostgreSQL (the postmaster and its backends) and of this process (the
	// load generator), from /proc (Linux; nothing reported elsewhere).
	after := f.cpu()
	for i, name := range []string{"server", "postgres", "generator"} {
		if d := after[i] - before[i]; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Microseconds())/float64(b.N), name+"-cpu-µs/op")
		}
	}
}

// cpu is the CPU time used so far by the servers, PostgreSQL and this
// process.
func (f *leaseFleet) cpu() [3]time.Duration {
	var out [3]time.Duration
	for _, s := range f.servers {
		out[0] += procCPU(s.cmd.Process.Pid)
	}
	if f.pg != nil {
		raw, _ := os.ReadFile(filepath.Join(f.pg.Dir, "data", "postmaster.pid"))
		if pm, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0]); err == nil {
			out[1] = procCPU(pm)
			for _, child := range childrenOf(pm) {
				out[1] += procCPU(child)
			}
		}
	}
	out[2] = procCPU(os.Getpid())
	return out
}

// procCPU is a process's user and system CPU time (/proc/PID/stat fields
// 14 and 15, in clock ticks of 1/100 s); 0 where unreadable.
func procCPU(pid int) time.Duration {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[13], 10, 64)
	st, _ := strconv.ParseInt(f[14], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// statFields splits /proc/PID/stat after the command name (which may
// hold spaces), numbering fields as proc(5) does from 1 (the pid).
func statFields(pid int) []string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{strconv.Itoa(pid), "comm"}, strings.Fields(s[i+1:])...)
}

// childrenOf lists the processes whose parent is ppid.
func childrenOf(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 3 && f[3] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

func BenchmarkHeartbeatSQLite(b *testing.B) { startLeaseFleet(b, 1, false).heartbeats(b) }

func BenchmarkHeartbeatPostgres2(b *testing.B) { startLeaseFleet(b, 2, true).heartbeats(b) }
