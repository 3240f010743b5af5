package main_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// The server's performance figures (README), measured on the built binary
// over loopback with the load generator in this process: daily checks of
// 200 concurrent devices on one server with SQLite, one and two servers on
// PostgreSQL, and activations through the sandbox marketplace.

const benchDevices = 200

// noLimits lifts the rate limits: the load comes from one address.
var noLimits = map[string]any{"per_addr_per_second": -1, "activate_per_addr_per_minute": -1, "activate_per_code_per_minute": -1}

type fleet struct {
	pg      *testutil.Postgres // nil on SQLite
	code    string
	sandbox *sandbox.Server
	servers []*serverProc
	clients []*client.Client
	devices []*servertest.Device
	ids     []string
}

func startFleet(b *testing.B, replicas int, postgres bool) *fleet {
	return startFleetWith(b, replicas, postgres, benchDevices, nil)
}

// startFleetWith is startFleet with n devices and more config keys.
func startFleetWith(b *testing.B, replicas int, postgres bool, n int, extra map[string]any) *fleet {
	bin := binary(b)
	sb, mkt := marketplace(b)
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 1e6})
	if err != nil {
		b.Fatal(err)
	}
	dir, _ := initDir(b, bin)
	set := map[string]any{"limits": noLimits, "log_level": "warn"}
	for k, v := range extra {
		set[k] = v
	}
	var pg *testutil.Postgres
	if postgres {
		pg = testutil.StartPostgres(b)
		set["db"] = pg.NewDatabase(b)
	}
	editConfig(b, dir, set)
	f := &fleet{code: code, sandbox: sb, pg: pg}
	transport := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 512}
	for range replicas {
		s := startServer(b, bin, dir, mkt, sb)
		f.servers = append(f.servers, s)
		f.clients = append(f.clients, &client.Client{BaseURL: s.url, HTTP: &http.Client{Transport: transport, Timeout: 30 * time.Second}})
	}
	for i := range n {
		d := servertest.NewDevice(i)
		got, err := activate(f.clients[i%replicas], d, code)
		if err != nil {
			b.Fatal(err)
		}
		f.devices, f.ids = append(f.devices, d), append(f.ids, got.ActivationID)
	}
	return f
}

// run spreads b.N calls of op over concurrent devices at once, and reports
// calls per second, p50 and p99 latency and the servers' peak RSS.
func (f *fleet) run(b *testing.B, concurrent int, unit string, op func(i int, c *client.Client) error) {
	var next atomic.Int64
	lat := make([][]time.Duration, concurrent)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range concurrent {
		c := f.clients[i%len(f.clients)]
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := op(i, c); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	var rss float64
	for _, s := range f.servers {
		rss = max(rss, peakRSSMB(s.cmd.Process.Pid))
	}
	if rss > 0 {
		b.ReportMetric(rss, "peak-RSS-MB")
	}
}

func (f *fleet) checks(b *testing.B) {
	f.run(b, benchDevices, "checks", func(i int, c *client.Client) error {
		_, err := c.Check(ctx, f.ids[i], f.devices[i].Key, "")
		return err
	})
}

func BenchmarkCheckSQLite(b *testing.B) { startFleet(b, 1, false).checks(b) }

// BenchmarkCheckSQLitePaced offers checks at a fixed rate (open loop: a
// device's check starts when it is due, whether or not others are
// answered) and reports the latency from when each was due.
func BenchmarkCheckSQLitePaced(b *testing.B) {
	for _, rate := range []int{500, 1000, 1500, 2000} {
		b.Run(strconv.Itoa(rate)+"-per-s", func(b *testing.B) { startFleet(b, 1, false).paced(b, rate) })
	}
}

func BenchmarkCheckPostgres1(b *testing.B) { startFleet(b, 1, true).checks(b) }

func BenchmarkCheckPostgres2(b *testing.B) { startFleet(b, 2, true).checks(b) }

// BenchmarkActivate: the latency of activating a new device on a code the
// server knows (no marketplace call), one device at a time, on codes of 50
// seats (BenchmarkActivateLargeCode, package server, measures a large code).
func BenchmarkActivate(b *testing.B) {
	f := startFleet(b, 1, false)
	var codes []string
	for range b.N/50 + 1 {
		code, err := f.sandbox.AddCode(sandbox.CodeSpec{Amount: 51})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := activate(f.clients[0], servertest.NewDevice(1e6+len(codes)), code); err != nil {
			b.Fatal(err)
		}
		codes = append(codes, code)
	}
	var n atomic.Int64
	f.run(b, 1, "activations", func(i int, c *client.Client) error {
		k := int(n.Add(1))
		_, err := activate(c, servertest.NewDevice(benchDevices+k), codes[k/50])
		return err
	})
}

// BenchmarkFirstActivationSandbox: the latency of a code's first activation,
// which asks the marketplace (the sandbox on loopback), one at a time.
func BenchmarkFirstActivationSandbox(b *testing.B) {
	f := startFleet(b, 1, false)
	codes := make([]string, b.N)
	for i := range codes {
		var err error
		if codes[i], err = f.sandbox.AddCode(sandbox.CodeSpec{}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	f.run(b, 1, "activations", func(i int, c *client.Client) error {
		k := int(n.Add(1)) - 1
		_, err := activate(c, f.devices[k%benchDevices], codes[k])
		return err
	})
}

// paced sends b.N checks at rate per second, spread over the devices
// round-robin, and reports the achieved rate and the latency from each
// check's due time (so a server falling behind shows in it).
func (f *fleet) paced(b *testing.B, rate int) {
	due := make(chan time.Time, 4096)
	lat := make([][]time.Duration, benchDevices)
	var wg sync.WaitGroup
	var next atomic.Int64
	for i := range benchDevices {
		c := f.clients[i%len(f.clients)]
		wg.Go(func() {
			for t := range due {
				k := int(next.Add(1)-1) % benchDevices
				if _, err := c.Check(ctx, f.ids[k], f.devices[k].Key, ""); err != nil {
					b.Error(err)
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		})
	}
	b.ResetTimer()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for n := range b.N {
		t := start.Add(time.Duration(n) * interval)
		time.Sleep(time.Until(t))
		due <- t
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "checks/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}

// peakRSSMB is a process's peak resident set (VmHWM), 0 where /proc is not.
func peakRSSMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
