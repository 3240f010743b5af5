package licensing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
	"github.com/iscdesk/iscdesk/licensing/store"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/offline"
)

// airgapped is a device of the vendor with no route to its server: every
// online call fails as a refused connection does.
func (v *vendor) airgapped(fp devinfo.Fingerprint, host string) *licensing.Service {
	s := v.device(store.NewKeyringStore(&secret.Memory{}, machine), fp, host, v.clock.Now)
	s.Connect = func(context.Context, string) (licensing.Server, error) { return nil, errDown }
	return s
}

var ctx = context.Background()

func active(t *testing.T, v *vendor) int {
	t.Helper()
	info, err := v.Service.CodeInfo(ctx, v.code)
	if err != nil {
		t.Fatal(err)
	}
	return info.Bound()
}

// The acceptance scenario: a desktop with no route to the server activates
// by a file round trip and validates offline; an edited answer, or one made
// for another device, is refused; the request is answered once.
func TestAirGappedActivation(t *testing.T) {
	v := newVendor(t)
	s := v.airgapped(fp, "lab-07")
	if _, err := s.Activate(ctx, v.code); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("online activation with no route: %v", err)
	}
	req, err := s.RequestActivation(ctx, v.code)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Text) > offline.QRBytes {
		t.Fatalf("request of %d bytes does not fit a QR code", len(req.Text))
	}
	// While the answer travels, the machine is not activated, and says why.
	st, err := s.Status(ctx, false)
	if err != nil || !errs.Is(st.Verdict.Err, errs.NotActivated) || !strings.Contains(st.Verdict.Reason(), "--response-file") {
		t.Fatalf("pending: %v, %v", st.Verdict.Err, err)
	}
	if _, err := s.Deactivate(ctx); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("online deactivate of a pending request: %v", err)
	}

	// Carried to the vendor a day later.
	v.clock.Add(24 * time.Hour)
	ans, err := v.Service.AnswerOffline(ctx, req.Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Service.AnswerOffline(ctx, req.Text); !errs.Is(err, errs.Permission) {
		t.Fatalf("replayed request: %v", err)
	}

	// Edited on the way back: one character of the payload.
	parts := strings.Split(ans.Text, ".")
	b := []byte(parts[1])
	b[len(b)/2] ^= 1
	if _, err := s.InstallResponse(ctx, parts[0]+"."+string(b)+"."+parts[2]); !errs.Is(err, errs.Tampered) {
		t.Fatalf("edited answer: %v", err)
	}
	// Another machine's answer (its own request, answered).
	other := v.airgapped(devinfo.Render(devinfo.Components{MAC: []string{"02:00:00:00:00:09"}, Disk: []string{"D9"}, Board: "B9", CPU: "C9"}), "lab-09")
	code2 := v.Server.Code(t, 1)
	oreq, err := other.RequestActivation(ctx, code2)
	if err != nil {
		t.Fatal(err)
	}
	oans, err := v.Service.AnswerOffline(ctx, oreq.Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InstallResponse(ctx, oans.Text); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("another machine's answer: %v", err)
	}
	// Still pending after the refusals; the right answer installs.
	st, err = s.InstallResponse(ctx, ans.Text)
	if err != nil || !st.Verdict.Valid() || st.Record.ActivationID != ans.Activation.ID {
		t.Fatalf("install: %+v, %v", st.Verdict, err)
	}
	// Validates offline as usual, and with the server unreachable the
	// online status falls back to the cache.
	v.clock.Add(3 * 24 * time.Hour)
	if st, err := s.Status(ctx, true); err != nil || !st.Verdict.Valid() || st.Source != licensing.SourceCache || st.OnlineErr == nil {
		t.Fatalf("status: %+v %v, %v", st.Verdict, st.Source, err)
	}
	// The vendor's programs get the device license the answer brought,
	// bound to this machine, though the server cannot be asked.
	lic, err := s.DeviceLicense(ctx, licensing.DeviceLicenseRequest{DevInfo: fp.String()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := token.Verify(lic, v.Public, v.clock.Now())
	if err != nil || c.DevInfo != fp.String() || c.License != v.code {
		t.Fatalf("device license %+v, %v", c, err)
	}
	if exp := time.Unix(c.Expires, 0); exp.After(st.Record.CheckBy) {
		t.Fatalf("device license until %s, past the grace %s", exp, st.Record.CheckBy)
	}
	if _, err := s.DeviceLicense(ctx, licensing.DeviceLicenseRequest{DevInfo: "02:00:00:00:00:09|D9|B9|C9"}); err == nil {
		t.Fatal("a device license for another machine")
	}
	// The answer again: nothing waits for it any more.
	if _, err := s.InstallResponse(ctx, ans.Text); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("answer installed twice: %v", err)
	}

	// Deactivation by file: the request is written, the activation removed
	// here, and the seat freed when the server answers.
	var written licensing.RequestFile
	if _, err := s.RequestDeactivation(ctx, func(f licensing.RequestFile) error { written = f; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(ctx, false); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("activation left after the deactivation request: %v", err)
	}
	if active(t, v) != 1 {
		t.Fatal("seat freed before the server saw the request")
	}
	got, err := v.Service.AnswerOffline(ctx, written.Text)
	if err != nil || !got.Freed || active(t, v) != 0 {
		t.Fatalf("deactivation answer: %+v, %v", got, err)
	}
}

// A deactivation request is written only when the file is: a failed write
// keeps the activation here.
func TestAirGappedDeactivationWriteFails(t *testing.T) {
	v := newVendor(t)
	s := v.airgapped(fp, "lab-07")
	req, _ := s.RequestActivation(ctx, v.code)
	ans, err := v.Service.AnswerOffline(ctx, req.Text)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InstallResponse(ctx, ans.Text); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	if _, err := s.RequestDeactivation(ctx, func(licensing.RequestFile) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("activation lost: %v %v", st.Verdict.Err, err)
	}
	// A new activation request keeps the cached activation working until
	// its answer comes.
	renew, err := s.RequestActivation(ctx, v.code)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() || st.Record.Pending == nil {
		t.Fatalf("activation with a pending request: %v %v", st.Verdict.Err, err)
	}
	// The old answer names the old request: refused.
	if _, err := s.InstallResponse(ctx, ans.Text); !errs.Is(err, errs.WrongMachine) {
		t.Fatalf("old answer: %v", err)
	}
	// Renewal by file before the grace period ends: the answer moves this
	// machine's seat to the new device key, never taking a second one (the
	// code has one seat).
	v.clock.Add(6 * 24 * time.Hour)
	rans, err := v.Service.AnswerOffline(ctx, renew.Text)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.InstallResponse(ctx, rans.Text)
	if err != nil || !st.Verdict.Valid() || st.Record.ActivationID == ans.Activation.ID || active(t, v) != 1 {
		t.Fatalf("renewal: %v %v, %d seats", st.Verdict.Err, err, active(t, v))
	}
	v.clock.Add(3 * 24 * time.Hour) // past the first token's grace
	if st, err := s.Status(ctx, false); err != nil || !st.Verdict.Valid() {
		t.Fatalf("after renewal: %v %v", st.Verdict.Err, err)
	}
}

// After a vendor key rotation, a desktop pinned to the older key installs
// an answer signed by the new one: the answer carries the endorsement, as
// GET /v1/keys would, and the record keeps it for offline validation.
//
// The machine has no server configured at all: its programs still get the
// device license the answer brought.
func TestAirGappedAfterKeyRotation(t *testing.T) {
	v := newVendor(t)
	s := v.airgapped(fp, "lab-07")
	s.Settings = fixedSettings(licensing.Settings{Keys: v.settings().Keys})
	req, err := s.RequestActivation(ctx, v.code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Ring.Rotate(v.clock.Now(), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	ans, err := v.Service.AnswerOffline(ctx, req.Text)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.InstallResponse(ctx, ans.Text)
	if err != nil || !st.Verdict.Valid() || len(st.Record.Endorsements) != 1 {
		t.Fatalf("install after rotation: %v %v, %d endorsements", st.Verdict.Err, err, len(st.Record.Endorsements))
	}
	// Online status with no server to ask: the token decides.
	if st, err := s.Status(ctx, true); err != nil || !st.Verdict.Valid() || st.Source != licensing.SourceCache {
		t.Fatalf("status: %v %v", st.Verdict.Err, err)
	}
	lic, err := s.DeviceLicense(ctx, licensing.DeviceLicenseRequest{DevInfo: fp.String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.Verify(lic, v.Ring.Current(), v.clock.Now()); err != nil {
		t.Fatalf("device license signed by the new key: %v", err)
	}
}
