package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

var ctx = context.Background()

func refusal(t *testing.T, err error, kind errs.Kind, reason string) *server.Refusal {
	t.Helper()
	var r *server.Refusal
	if !errs.Is(err, kind) || !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("got %v (kind %v), want kind %v reason %s", err, errs.KindOf(err), kind, reason)
	}
	return r
}

func TestSeats(t *testing.T) {
	for _, tc := range []struct {
		p      server.Product
		amount float64
		want   int
	}{
		{server.Product{}, 2, 2},
		{server.Product{}, 0, 1},
		{server.Product{SeatMultiplier: 3}, 2, 6},
		{server.Product{SeatMultiplier: 0.5}, 1, 1},
		{server.Product{SeatMultiplier: 0.5}, 5, 2},
		{server.Product{SeatMultiplier: 1.1}, 10, 11},
	} {
		if got := tc.p.Seats(tc.amount); got != tc.want {
			t.Errorf("%+v amount %v: %d seats, want %d", tc.p, tc.amount, got, tc.want)
		}
	}
	if err := (server.Config{Default: server.Product{SeatMultiplier: -1}}).Validate(); err == nil {
		t.Error("negative multiplier accepted")
	}
}

// The acceptance scenario of the seat policy: a 2-seat code binds two
// devices, refuses the third naming both holders, takes it after one
// deactivates; re-activation and a replaced part never take a second seat.
func TestTwoSeatCode(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 2)
	a, b, c := servertest.NewDevice(1), servertest.NewDevice(2), servertest.NewDevice(3)

	ga, err := e.Service.Activate(ctx, a.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	gb, err := e.Service.Activate(ctx, b.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Service.Activate(ctx, c.ActivateRequest(code))
	r := refusal(t, err, errs.NotActivated, server.ReasonSeatsFull)
	if r.Seats != 2 || len(r.Holders) != 2 || !strings.Contains(r.Message, "host-001") || !strings.Contains(r.Message, "host-002") ||
		!strings.Contains(r.Message, "deactivate") {
		t.Fatalf("refusal %+v", r)
	}

	// The same device again, with a new request id: the same activation.
	again, err := e.Service.Activate(ctx, a.ActivateRequest(code))
	if err != nil || again.Activation.ID != ga.Activation.ID {
		t.Fatalf("re-activation: %v, %s vs %s", err, again.Activation.ID, ga.Activation.ID)
	}
	// The same request id (a retry): the same activation.
	req := b.ActivateRequest(code)
	req.RequestID = gb.Activation.RequestID
	if retry, err := e.Service.Activate(ctx, req); err != nil || retry.Activation.ID != gb.Activation.ID {
		t.Fatalf("retry: %v", err)
	}
	// One part replaced (a new disk): still this machine's seat.
	moved := *a
	moved.Fingerprint = strings.Replace(a.Fingerprint, "DISK000001", "DISKNEW", 1)
	if g, err := e.Service.Activate(ctx, moved.ActivateRequest(code)); err != nil || g.Activation.ID != ga.Activation.ID {
		t.Fatalf("one part replaced: %v", err)
	}

	// b deactivates (signed by its key); c gets the seat.
	if err := e.Service.Deactivate(ctx, b.Signed(gb.Activation.ID, e.Clock.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Activate(ctx, c.ActivateRequest(code)); err != nil {
		t.Fatalf("after a deactivation: %v", err)
	}
	// b's next check learns it was deactivated.
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: b.Signed(gb.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.NotActivated, server.ReasonDeactivated)

	view, err := e.Service.CodeInfo(ctx, code)
	if err != nil || view.Seats != 2 || view.Bound() != 2 {
		t.Fatalf("code view %+v, %v", view, err)
	}
}

func TestTokenAndCheck(t *testing.T) {
	e := servertest.New(t, "", server.Config{Default: server.Product{GraceDays: 3}})
	code := e.Code(t, 1)
	d := servertest.NewDevice(1)
	g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	keys := activation.Pinned(e.Key.Public())
	cl, err := activation.Verify(g.Token, keys, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	lic, _ := e.Sandbox.Lookup(code)
	if cl.CodeHash != activation.CodeHash(code) || cl.Fingerprint != d.Fingerprint || cl.DeviceKey != activation.Thumbprint(d.Public()) ||
		cl.CheckBy != e.Clock.Now().Add(72*time.Hour).Unix() || cl.Expires != lic.ExpireTime.Unix() || cl.Product != lic.ProductID {
		t.Fatalf("claims %+v", cl)
	}
	// Two days later: a check gives a token with a later check_by.
	e.Clock.Advance(48 * time.Hour)
	g2, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), Fingerprint: d.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Claims.CheckBy != e.Clock.Now().Add(72*time.Hour).Unix() {
		t.Fatalf("check_by %d", g2.Claims.CheckBy)
	}
	// The old token stops at its check_by.
	if _, err := activation.Verify(g.Token, keys, e.Clock.Now().Add(25*time.Hour)); !errors.Is(err, activation.ErrCheckBy) {
		t.Fatalf("old token after its check_by: %v", err)
	}

	// Signed requests: another key, a replayed nonce, a stale time.
	other := servertest.NewDevice(2)
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: other.Signed(g.Activation.ID, e.Clock.Now())})
	if !errs.Is(err, errs.Permission) {
		t.Fatalf("signed by another key: %v", err)
	}
	s := d.Signed(g.Activation.ID, e.Clock.Now())
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: s}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: s}); !errs.Is(err, errs.Permission) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now().Add(-6*time.Minute))}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("stale time: %v", err)
	}
	// A fingerprint of another machine.
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), Fingerprint: other.Fingerprint})
	refusal(t, err, errs.WrongMachine, server.ReasonWrongMachine)

	// A device license for the vendor's program on this machine.
	dl, err := e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: d.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := token.Verify(dl, e.Key.Public(), e.Clock.Now())
	if err != nil || dc.License != code || dc.DevInfo != d.Fingerprint {
		t.Fatalf("device license %+v, %v", dc, err)
	}
	if _, err := e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: other.Fingerprint}); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("device license for another machine: %v", err)
	}
	// A devInfo of a single unit part binds the OS machine id too (mid),
	// as sdk.VerifyDeviceLicense requires.
	single := strings.Split(d.Fingerprint, "|")[0] + "|||"
	if _, err := e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: single}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a single unit part without a machine id: %v", err)
	}
	mid := strings.Repeat("ab", 32)
	dl, err = e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: single, Machine: mid})
	if dc, verr := token.Verify(dl, e.Key.Public(), e.Clock.Now()); err != nil || verr != nil || dc.Machine != mid || dc.DevInfo != single {
		t.Fatalf("a single unit part with its machine id: %+v %v %v", dc, err, verr)
	}
	if _, err := e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: d.Fingerprint, Machine: "AB"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a malformed machine id: %v", err)
	}

	// Support revokes: the next check says so.
	if err := e.Service.Revoke(ctx, g.Activation.ID, "refund ticket 42"); err != nil {
		t.Fatal(err)
	}
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	if r := refusal(t, err, errs.NotActivated, server.ReasonRevoked); !strings.Contains(r.Message, "refund ticket 42") {
		t.Fatal(r.Message)
	}
}

func TestNewDeviceKeyMovesTheSeat(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 1)
	d := servertest.NewDevice(1)
	g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	reinstalled := servertest.NewDevice(1) // same machine, new key
	g2, err := e.Service.Activate(ctx, reinstalled.ActivateRequest(code))
	if err != nil || g2.Activation.ID == g.Activation.ID {
		t.Fatalf("re-activation with a new key: %v", err)
	}
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.WrongMachine, server.ReasonMoved)
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: reinstalled.Signed(g2.Activation.ID, e.Clock.Now())}); err != nil {
		t.Fatal(err)
	}
}

func TestCodeStates(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	d := servertest.NewDevice(1)
	// Unknown and undelivered codes.
	if _, err := e.Service.Activate(ctx, d.ActivateRequest("PLNOSUCHCODE000")); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	for _, c := range e.Sandbox.Codes() {
		if c.State == "undelivered" {
			if _, err := e.Service.Activate(ctx, d.ActivateRequest(c.Code)); !errs.Is(err, errs.NotDelivered) {
				t.Fatalf("undelivered: %v", err)
			}
		}
	}
	if _, err := e.Service.Activate(ctx, d.ActivateRequest("bad code!")); !errs.Is(err, errs.Invalid) {
		t.Fatalf("malformed: %v", err)
	}
	// A released code: the next check after the query interval says so.
	code := e.Code(t, 1)
	g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sandbox.SetStatus(code, licensing.StatusReleased); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())}); err != nil {
		t.Fatalf("within the query interval the server trusts its last answer: %v", err)
	}
	e.Clock.Advance(server.DefaultQueryInterval + time.Minute)
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Released, server.ReasonReleased)
	_, err = e.Service.Activate(ctx, servertest.NewDevice(2).ActivateRequest(code))
	refusal(t, err, errs.Released, server.ReasonReleased)

	// An expired code renewed at the marketplace: its devices learn it
	// within a quarter of an hour, not a whole query interval.
	code2 := e.Code(t, 1)
	d2 := servertest.NewDevice(3)
	g2, err := e.Service.Activate(ctx, d2.ActivateRequest(code2))
	if err != nil {
		t.Fatal(err)
	}
	lic, _ := e.Sandbox.Lookup(code2)
	e.Clock.Advance(lic.ExpireTime.Sub(e.Clock.Now()) + time.Minute)
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d2.Signed(g2.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Expired, server.ReasonExpired)
	if err := e.Sandbox.SetExpiry(code2, e.Clock.Now().Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	queries := e.Upstream.Get("query")
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d2.Signed(g2.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Expired, server.ReasonExpired) // the last answer stands for a while
	e.Clock.Advance(16 * time.Minute)
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d2.Signed(g2.Activation.ID, e.Clock.Now())}); err != nil {
		t.Fatalf("after the renewal: %v", err)
	}
	if n := e.Upstream.Get("query") - queries; n != 1 {
		t.Fatalf("%d queries, want 1", n)
	}
}

// Upstream economy: 1,000 devices checking one code in a day cost one
// marketplace query, and the next day's usage report says 1,000.
func TestUpstreamEconomy(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 activations")
	}
	e := servertest.New(t, "", server.Config{})
	n := 1000
	if raceEnabled {
		n = 200
	}
	code := e.Code(t, float64(n))
	devices, ids := e.ActivateMany(t, code, n)
	e.Clock.Advance(server.DefaultQueryInterval + time.Hour) // the next day: the answer is stale
	before := e.Upstream.Get("query")
	for i, d := range devices {
		if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(ids[i], e.Clock.Now())}); err != nil {
			t.Fatal(err)
		}
	}
	if q := e.Upstream.Get("query") - before; q != 1 {
		t.Fatalf("%d marketplace queries for %d checks of one code, want 1", q, n)
	}
	if e.Upstream.Get("activate") != 1 {
		t.Fatalf("%d marketplace activations, want 1", e.Upstream.Get("activate"))
	}
	e.Clock.Advance(24 * time.Hour)
	sent, err := e.Service.ReportUsage(ctx)
	if err != nil || sent != 1 {
		t.Fatalf("report: %d, %v", sent, err)
	}
	reports := e.Sandbox.Usage()
	last := reports[len(reports)-1]
	if last.License != code || len(last.Items) != 1 || last.Items[0].ActiveNum == nil || *last.Items[0].ActiveNum != n {
		t.Fatalf("usage report %+v", last)
	}
	if sent, _ := e.Service.ReportUsage(ctx); sent != 0 {
		t.Fatalf("reported again: %d", sent)
	}
}

func TestUsageByIDs(t *testing.T) {
	e := servertest.New(t, "", server.Config{Default: server.Product{ReportIDs: true}})
	code := e.Code(t, 2)
	var ids []string
	for i := range 2 {
		d := servertest.NewDevice(i)
		g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.Activation.ID)
	}
	e.Clock.Advance(24 * time.Hour)
	if sent, err := e.Service.ReportUsage(ctx); err != nil || sent != 1 {
		t.Fatalf("report: %d, %v", sent, err)
	}
	reports := e.Sandbox.Usage()
	items := reports[len(reports)-1].Items
	if len(items) != 2 || items[0].ID == "" {
		t.Fatalf("items %+v", items)
	}
	for _, it := range items {
		if it.ID != ids[0] && it.ID != ids[1] {
			t.Fatalf("reported %q, not an activation id of %v", it.ID, ids)
		}
	}
}

// The binding policy of package devinfo: no unit part binds nothing; a
// single unit part (a VM's MAC|||CPU) may bind the OS machine id too, and a
// clone with the same MAC and another machine id is another machine.
func TestMachineIDPolicy(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 3)
	d := servertest.NewDevice(1)

	cpuOnly := d.ActivateRequest(code)
	cpuOnly.Fingerprint = "|||BFEBFBFF00090672"
	if _, err := e.Service.Activate(ctx, cpuOnly); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("no unit part: %v", err)
	}
	vm := d.ActivateRequest(code)
	vm.Fingerprint, vm.Machine = "02:00:00:00:00:01|||BFEBFBFF00090672", "AB"
	if _, err := e.Service.Activate(ctx, vm); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a malformed machine id: %v", err)
	}
	vm.Machine = strings.Repeat("a1", 32)
	g, err := e.Service.Activate(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	if g.Claims.Machine != vm.Machine {
		t.Fatalf("token mid %q", g.Claims.Machine)
	}
	// A clone: same MAC, other machine id, its own key: another seat.
	clone := servertest.NewDevice(2)
	creq := clone.ActivateRequest(code)
	creq.Fingerprint, creq.Machine = vm.Fingerprint, strings.Repeat("b2", 32)
	g2, err := e.Service.Activate(ctx, creq)
	if err != nil || g2.Activation.ID == g.Activation.ID {
		t.Fatalf("clone: %v (same activation: %v)", err, g2.Activation.ID == g.Activation.ID)
	}
	// A device license for the VM's machine id, not the clone's.
	dl, err := e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()),
		DevInfo: vm.Fingerprint, Machine: vm.Machine})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := token.Verify(dl, e.Key.Public(), e.Clock.Now()); err != nil || c.Machine != vm.Machine {
		t.Fatalf("device license mid %q, %v", c.Machine, err)
	}
	_, err = e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()),
		DevInfo: vm.Fingerprint, Machine: creq.Machine})
	refusal(t, err, errs.WrongMachine, server.ReasonWrongMachine)
}
