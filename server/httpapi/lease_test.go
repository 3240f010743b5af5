package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
	"github.com/iscdesk/iscdesk/token"
)

var floatingCfg = server.Config{Default: server.Product{LicenseModel: server.ModelFloating}}

// The lease routes end to end through the client: take, the pool-full
// answer with holders and the earliest end, heartbeat, device license
// under the lease, return, borrow.
func TestLeaseRoutes(t *testing.T) {
	f := startWith(t, httpapi.Limits{}, "", floatingCfg)
	code := f.env.Code(t, 1)
	a, b := servertest.NewDevice(1), servertest.NewDevice(2)
	aa, err := activate(f, a, code)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := activate(f, b, code)
	if err != nil {
		t.Fatal(err)
	}
	la, err := f.client.Lease(ctx, aa.ActivationID, a.Key, wire.LeaseRequest{RequestID: servertest.Nonce(), App: "cad"})
	if err != nil {
		t.Fatal(err)
	}
	if la.TTLSeconds != 600 || la.HeartbeatSeconds != 120 || la.Secret == "" || !la.EndsAt.Equal(f.env.Clock.Now().Add(10*time.Minute)) {
		t.Fatalf("lease %+v", la)
	}
	_, err = f.client.Lease(ctx, ab.ActivationID, b.Key, wire.LeaseRequest{RequestID: servertest.Nonce()})
	ae := apiError(t, err, errs.NotActivated, wire.ReasonPoolFull)
	if ae.Status != http.StatusConflict || len(ae.Holders) != 1 || ae.Holders[0].Host != a.Host || !ae.EarliestEnd.Equal(la.EndsAt) ||
		!ae.Holders[0].Until.Equal(la.EndsAt) {
		t.Fatalf("pool full %+v", ae)
	}

	f.env.Clock.Advance(2 * time.Minute)
	hb, err := f.client.Heartbeat(ctx, la.LeaseID, la.Secret)
	if err != nil || !hb.EndsAt.Equal(f.env.Clock.Now().Add(10*time.Minute)) {
		t.Fatalf("heartbeat %+v %v", hb, err)
	}
	_, err = f.client.DeviceLicense(ctx, aa.ActivationID, a.Key, a.Fingerprint, time.Time{})
	apiError(t, err, errs.NotActivated, wire.ReasonNoLease)
	lic, err := deviceLicenseUnder(f, aa.ActivationID, a, la.LeaseID)
	if err != nil {
		t.Fatal(err)
	}
	if cl, err := token.Verify(lic, f.env.Key.Public(), f.env.Clock.Now()); err != nil || cl.Expires != hb.EndsAt.Unix() {
		t.Fatalf("license %+v %v", cl, err)
	}

	// Wrong or missing secret: refused, the lease unchanged.
	_, err = f.client.Heartbeat(ctx, la.LeaseID, strings.Repeat("x", server.LeaseSecretLen))
	apiError(t, err, errs.Permission, "")
	resp, err := http.Post(f.url+wire.LeasePath(wire.PathLeaseHeartbeat, la.LeaseID), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "secret") {
		t.Fatalf("no secret: %d %s", resp.StatusCode, raw)
	}

	if err := f.client.ReturnLease(ctx, la.LeaseID, la.Secret); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.Heartbeat(ctx, la.LeaseID, la.Secret)
	apiError(t, err, errs.NotActivated, wire.ReasonLeaseEnded)

	// Borrow: the answer carries the device license ending with it.
	bb, err := f.client.Lease(ctx, ab.ActivationID, b.Key, wire.LeaseRequest{RequestID: servertest.Nonce(), BorrowDays: 2, DevInfo: b.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	end := f.env.Clock.Now().Add(48 * time.Hour)
	if !bb.BorrowedUntil.Equal(end) || bb.License == "" {
		t.Fatalf("borrow %+v", bb)
	}
	if cl, err := token.Verify(bb.License, f.env.Key.Public(), f.env.Clock.Now()); err != nil || cl.Expires != end.Unix() {
		t.Fatalf("borrowed license %+v %v", cl, err)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"route":"heartbeat"`) || strings.Contains(logs, la.Secret) || strings.Contains(logs, bb.Secret) {
		t.Fatal("heartbeats not logged, or a lease secret in the logs")
	}
}

func deviceLicenseUnder(f *fixture, id string, d *servertest.Device, lease string) (string, error) {
	return f.client.DeviceLicenseUnderLease(ctx, id, d.Key, d.Fingerprint, "", lease, time.Time{})
}
