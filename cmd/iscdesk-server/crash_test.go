package main_test

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
)

// kill -9 in the middle of a stream of activations, then a restart on the
// same SQLite file: no seat is bound twice, every token handed out has its
// activation in the database, and a retried request (same request id) gets
// its activation.
func TestCrashDuringActivations(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server")
	}
	bin := binary(t)
	sb, mkt := marketplace(t)
	const devices, workers, killAfter = 60, 6, 15
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: devices})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := initDir(t, bin)
	srv := startServer(t, bin, dir, mkt, sb)

	type attempt struct {
		dev   *servertest.Device
		req   wire.ActivateRequest
		got   wire.ActivateAnswer
		ok    bool
		tried bool
	}
	attempts := make([]*attempt, devices)
	for i := range attempts {
		d := servertest.NewDevice(i)
		attempts[i] = &attempt{dev: d, req: wire.ActivateRequest{Code: code, Fingerprint: d.Fingerprint,
			DeviceKey: client.DeviceKeyText(d.Public()), Host: d.Host, App: "demo", Version: "1", RequestID: servertest.Nonce()}}
	}
	c := &client.Client{BaseURL: srv.url}
	var next, succeeded atomic.Int64
	var killOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= devices {
					return
				}
				a := attempts[i]
				a.tried = true
				got, err := c.Activate(ctx, a.req)
				if err == nil {
					a.got = got
					a.ok = true
					if succeeded.Add(1) == killAfter {
						killOnce.Do(func() { _ = srv.cmd.Process.Kill() }) // SIGKILL, requests in flight
					}
				}
			}
		})
	}
	wg.Wait()
	<-srv.done
	if succeeded.Load() < killAfter || succeeded.Load() == devices {
		t.Fatalf("%d of %d activations answered before the kill: the kill did not land mid-stream", succeeded.Load(), devices)
	}
	t.Logf("%d activations answered before kill -9", succeeded.Load())

	// Restart and retry everything with the same request ids.
	srv2 := startServer(t, bin, dir, mkt, sb)
	c2 := &client.Client{BaseURL: srv2.url}
	for i, a := range attempts {
		got, err := c2.Activate(ctx, a.req)
		if err != nil {
			t.Fatalf("device %d retried: %v", i, err)
		}
		if a.ok && got.ActivationID != a.got.ActivationID {
			t.Fatalf("device %d: retry got activation %s, the answer before the crash was %s", i, got.ActivationID, a.got.ActivationID)
		}
	}
	srv2.stop(t)

	r := testutil.Run(t, bin, nil, "activations", "list", "--code", code, "--dir", dir, "--json")
	var list []struct{ ID, State, Host string }
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("activations list: %v %s", err, r.Stderr)
	}
	byHost, ids := map[string]int{}, map[string]bool{}
	for _, a := range list {
		if a.State == "active" {
			byHost[a.Host]++
			ids[a.ID] = true
		}
	}
	if len(byHost) != devices {
		t.Fatalf("%d devices hold seats, want %d", len(byHost), devices)
	}
	for h, n := range byHost {
		if n != 1 {
			t.Fatalf("%s holds %d seats", h, n)
		}
	}
	for i, a := range attempts {
		if a.ok && !ids[a.got.ActivationID] {
			t.Fatalf("device %d was handed a token for %s, which holds no seat in the database", i, a.got.ActivationID)
		}
	}
}
