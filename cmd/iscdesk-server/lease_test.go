package main_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/store/sqlstore"
	"github.com/iscdesk/iscdesk/server/wire"
)

// The built binary with a floating product and a short lease TTL from
// config.json: a renewed lease lives past the TTL, an abandoned one (a
// crashed desktop) lapses, its seat goes to another machine, and serve's
// reaper marks it expired in the database.
func TestServeLeases(t *testing.T) {
	bin := binary(t)
	sb, mkt := marketplace(t)
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := initDir(t, bin)
	editConfig(t, dir, map[string]any{"lease_ttl": "2s", "heartbeat_interval": "500ms",
		"default_product": map[string]any{"license_model": "floating"}})
	srv := startServer(t, bin, dir, mkt, sb)
	c := &client.Client{BaseURL: srv.url}
	a, b := servertest.NewDevice(1), servertest.NewDevice(2)
	ga, err := activate(c, a, code)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := activate(c, b, code)
	if err != nil {
		t.Fatal(err)
	}
	la, err := c.Lease(ctx, ga.ActivationID, a.Key, wire.LeaseRequest{RequestID: servertest.Nonce()})
	if err != nil || la.TTLSeconds != 2 {
		t.Fatalf("lease %+v %v", la, err)
	}
	// Renewed every 500 ms for 3 s: still held, b refused.
	for range 6 {
		time.Sleep(500 * time.Millisecond)
		if _, err := c.Heartbeat(ctx, la.LeaseID, la.Secret); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Lease(ctx, gb.ActivationID, b.Key, wire.LeaseRequest{RequestID: servertest.Nonce()}); reason(err) != wire.ReasonPoolFull {
		t.Fatalf("b while a renews: %v", err)
	}
	// a's desktop dies: once the TTL has passed since its last heartbeat
	// (the end is rounded up to a second) b gets the seat, and the reaper
	// (every TTL/4) marks a's lease expired.
	last := time.Now()
	for {
		_, err := c.Lease(ctx, gb.ActivationID, b.Key, wire.LeaseRequest{RequestID: servertest.Nonce()})
		if err == nil {
			break
		}
		if reason(err) != wire.ReasonPoolFull || time.Since(last) > 2*time.Second+1500*time.Millisecond {
			t.Fatalf("b after a's lease lapsed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w := time.Since(last); w < 2*time.Second-200*time.Millisecond {
		t.Fatalf("a's seat was free %v after its last heartbeat, before the TTL", w)
	}
	if _, err := c.Heartbeat(ctx, la.LeaseID, la.Secret); !errs.Is(err, errs.NotActivated) || reason(err) != wire.ReasonLeaseEnded {
		t.Fatalf("a's heartbeat after the lapse: %v", err)
	}
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "iscdesk-server.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := st.Lease(ctx, la.LeaseID)
		if err != nil {
			t.Fatal(err)
		}
		if l.State == server.LeaseExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reaper did not mark the lapsed lease: %+v", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Support sees the lease held, by host, never its secret.
	r := testutil.Run(t, bin, nil, "codes", "show", code, "--dir", dir, "--json")
	var shown struct {
		Floating bool `json:"floating"`
		Bound    int  `json:"bound"`
		Leases   []struct {
			Host string `json:"host"`
			Ends string `json:"ends"`
		} `json:"leases"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &shown) != nil || !shown.Floating || shown.Bound != 1 || len(shown.Leases) != 1 ||
		shown.Leases[0].Host != b.Host || strings.Contains(r.Stdout, la.Secret) {
		t.Fatalf("codes show --json: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := testutil.Run(t, bin, nil, "codes", "show", code, "--dir", dir); r.Code != 0 || !strings.Contains(r.Stdout, "leases held: 1") || !strings.Contains(r.Stdout, b.Host) {
		t.Fatalf("codes show: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	srv.stop(t)
}
