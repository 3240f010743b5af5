package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/remote"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/token/activation"
)

// A short lease TTL and heartbeat, so that lapses happen within a test.
const testTTL, testHeartbeat = 2 * time.Second, 300 * time.Millisecond

func floatingServer(t *testing.T, now func() time.Time) *vendortest.Server {
	return vendortest.Start(t, vendortest.Options{Now: now, Config: server.Config{
		Default:  server.Product{LicenseModel: server.ModelFloating},
		LeaseTTL: testTTL, HeartbeatInterval: testHeartbeat,
	}})
}

// desk is a fake device: its own fingerprint, keyring, license service
// (activated on the code) and agent.
type desk struct {
	host    string
	devInfo string
	service *licensing.Service
	socket  string
	stop    func()
}

func newDesk(t *testing.T, srv *vendortest.Server, code string, i int) *desk {
	t.Helper()
	fp := devinfo.Render(devinfo.Components{MAC: []string{fmt.Sprintf("02:00:00:00:01:%02X", i)}, Disk: []string{fmt.Sprintf("DISK-%d", i)}, CPU: "BFEBFBFF000906EA"})
	d := &desk{host: fmt.Sprintf("desk-%d", i), devInfo: fp.String(), socket: socketIn(t)}
	d.service = &licensing.Service{
		Store: store.NewKeyringStore(&secret.Memory{}, func() (string, error) { return "machine", nil }),
		Settings: func() (licensing.Settings, error) {
			return licensing.Settings{Server: srv.URL, Keys: activation.Pinned(srv.Public)}, nil
		},
		Connect:     func(_ context.Context, url string) (licensing.Server, error) { return remote.New(url, nil, nil), nil },
		Fingerprint: func(context.Context) devinfo.Fingerprint { return fp },
		Host:        func() string { return d.host },
	}
	if _, err := d.service.Activate(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	d.stop = serve(t, agent.New(agent.Config{SocketPath: d.socket, Licenses: agent.ManagedLicenses{Service: d.service}, LeaseRetry: 100 * time.Millisecond}))
	return d
}

// program connects a vendor program to the desk's agent.
func (d *desk) program(t *testing.T) *sdk.Client { return connect(t, d.socket) }

// license asks for a license and checks it verifies here, bound to the
// desk, ending with its lease.
func (d *desk) license(t *testing.T, srv *vendortest.Server, c *sdk.Client, opts ...sdk.CallOption) {
	t.Helper()
	tok, err := c.GetLicenseString(ctxT(t), d.devInfo, opts...)
	if err != nil {
		t.Fatalf("%s: %v", d.host, err)
	}
	lic, err := sdk.VerifyDeviceLicense(tok, srv.Public, d.devInfo, time.Now())
	if err != nil {
		t.Fatalf("%s: license: %v", d.host, err)
	}
	if until := time.Until(time.Unix(lic.Expires, 0)); until > testTTL+time.Second {
		t.Fatalf("%s: the license outlives its lease: ends in %v", d.host, until)
	}
}

type poolEvent struct {
	Holders []struct {
		Host  string    `json:"host"`
		Since time.Time `json:"since"`
		Until time.Time `json:"until"`
	}
	EarliestEnd time.Time
}

func parsePool(t *testing.T, p map[string]string) poolEvent {
	t.Helper()
	var pe poolEvent
	if p[protocol.RefusalKey] != licensing.ReasonPoolFull || json.Unmarshal([]byte(p[protocol.HoldersKey]), &pe.Holders) != nil {
		t.Fatalf("pool params %v", p)
	}
	var err error
	if pe.EarliestEnd, err = time.Parse(time.RFC3339, p[protocol.EarliestEndKey]); err != nil {
		t.Fatalf("earliest end %q", p[protocol.EarliestEndKey])
	}
	return pe
}

func hosts(pe poolEvent) string {
	var hs []string
	for _, h := range pe.Holders {
		hs = append(hs, h.Host)
	}
	return strings.Join(hs, ",")
}

// The acceptance scenario: 3 programs on 3 desks against a 2-seat pool.
// Two get leases and keep them by heartbeat past the TTL; the third is told
// who holds the seats and when the earliest ends, queues, and gets a lease
// as soon as one program exits. Then two desks die holding leases (no
// heartbeat, no return): a queued program gets a lease after their TTL.
func TestFloatingThreeProgramsTwoSeats(t *testing.T) {
	srv := floatingServer(t, nil)
	code := srv.Code(t, 2)
	d := []*desk{newDesk(t, srv, code, 1), newDesk(t, srv, code, 2), newDesk(t, srv, code, 3)}
	p1, p2, p3 := d[0].program(t), d[1].program(t), d[2].program(t)
	d[0].license(t, srv, p1)
	d[1].license(t, srv, p2)

	// Without queueing, the third fails at once, told who holds the seats.
	_, err := p3.GetLicenseString(ctxT(t), d[2].devInfo)
	var oe *sdk.OperationError
	if !errors.As(err, &oe) || oe.Kind() != errs.NotActivated.Name() || !strings.Contains(oe.Reason(), "desk-1") {
		t.Fatalf("third program: %v", err)
	}
	if pe := parsePool(t, oe.Event.Params); hosts(pe) != "desk-1,desk-2" && hosts(pe) != "desk-2,desk-1" || pe.EarliestEnd.IsZero() {
		t.Fatalf("holders %+v", pe)
	}

	// Queued: LicenseQueued, then nothing while the holders renew past the
	// TTL, then the license as soon as the first program exits.
	queued := make(chan protocol.Event, 4)
	p3.RegisterEventRecall(func(e protocol.Event) {
		if e.Operate == protocol.EventLicenseQueued {
			queued <- e
		}
	})
	got := make(chan error, 1)
	go func() {
		_, err := p3.GetLicenseString(ctxT(t), d[2].devInfo, sdk.QueueForLease())
		got <- err
	}()
	select {
	case e := <-queued:
		if pe := parsePool(t, e.Params); len(pe.Holders) != 2 {
			t.Fatalf("queued event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no LicenseQueued event")
	}
	select {
	case err := <-got:
		t.Fatalf("the third program got an answer while both leases were renewed: %v", err)
	case <-time.After(testTTL + time.Second):
	}
	exited := time.Now()
	p1.Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
		if w := time.Since(exited); w > testTTL {
			t.Fatalf("the lease came %v after the program exited: not returned at exit", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the queued program got no lease after the first exited")
	}

	// Two desks die holding leases: the others' programs exit, and the dead
	// desks' leases (taken, never renewed or returned) lapse after the TTL.
	p2.Close()
	p3.Close()
	waitFree(t, d[0].service)
	for _, dead := range d[:2] {
		if _, err := dead.service.TakeLease(ctxT(t), "crashed"); err != nil {
			t.Fatal(err)
		}
	}
	died := time.Now()
	p3 = d[2].program(t)
	d[2].license(t, srv, p3, sdk.QueueForLease())
	if w := time.Since(died); w < testTTL-500*time.Millisecond || w > testTTL+3*time.Second {
		t.Fatalf("the dead desks' leases lapsed after %v, want about the TTL %v", w, testTTL)
	}
}

// waitFree waits until the pool has a free lease (the exited programs'
// returns reached the server), then returns it.
func waitFree(t *testing.T, s *licensing.Service) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := s.TakeLease(ctxT(t), "probe")
		if err == nil {
			if err := s.ReturnLease(ctxT(t), l); err != nil {
				t.Fatal(err)
			}
			l2, err := s.TakeLease(ctxT(t), "probe")
			if err == nil {
				_ = s.ReturnLease(ctxT(t), l2)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not free: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A borrowed lease serves the desk's programs with the server stopped, and
// lapses on time; returned early, its seat frees at once.
func TestBorrowedLeaseOffline(t *testing.T) {
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	srv := floatingServer(t, nil)
	code := srv.Code(t, 1)
	a, b := newDesk(t, srv, code, 1), newDesk(t, srv, code, 2)
	a.service.Now = now

	// Borrowed and returned early: the other desk gets the seat at once.
	if _, err := a.service.Borrow(ctxT(t), 2, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.service.TakeLease(ctxT(t), "x"); licensing.RefusalReason(err) != licensing.ReasonPoolFull {
		t.Fatalf("pool during a borrow: %v", err)
	}
	if _, err := a.service.ReturnBorrow(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.service.Borrowed(ctxT(t)); ok {
		t.Fatal("a returned borrow is still kept")
	}
	l, err := b.service.TakeLease(ctxT(t), "x")
	if err != nil {
		t.Fatalf("after the borrow's return: %v", err)
	}
	if err := b.service.ReturnLease(ctxT(t), l); err != nil {
		t.Fatal(err)
	}

	// Borrowed for a day, then the server goes away: the program still
	// gets a license, bound to this desk, that ends with the borrow.
	borrow, err := a.service.Borrow(ctxT(t), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	p := a.program(t)
	tok, err := p.GetLicenseString(ctxT(t), a.devInfo)
	if err != nil {
		t.Fatalf("with the server stopped: %v", err)
	}
	lic, err := sdk.VerifyDeviceLicense(tok, srv.Public, a.devInfo, time.Now())
	if err != nil || lic.Expires != borrow.BorrowedUntil.Unix() {
		t.Fatalf("borrowed license %+v %v (borrowed until %v)", lic, err, borrow.BorrowedUntil)
	}
	// A day later the borrow has lapsed: its license no longer verifies and
	// the agent, with no server, issues none.
	mu.Lock()
	offset = 24*time.Hour + time.Minute
	mu.Unlock()
	if _, err := sdk.VerifyDeviceLicense(tok, srv.Public, a.devInfo, now()); err == nil {
		t.Fatal("the borrowed license outlived the borrow")
	}
	if _, ok, _ := a.service.Borrowed(ctxT(t)); ok {
		t.Fatal("a lapsed borrow still serves")
	}
	if tok2, err := p.GetLicenseString(ctxT(t), a.devInfo); err == nil {
		t.Fatalf("a license after the borrow lapsed, with no server: %q", tok2)
	}
}
