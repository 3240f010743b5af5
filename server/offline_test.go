package server_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
	"github.com/iscdesk/iscdesk/token/offline"
)

func offlineActivate(t *testing.T, d *servertest.Device, code string, at time.Time) string {
	t.Helper()
	text, err := offline.SignRequest(d.Key, offline.Request{
		Kind: offline.KindActivate, Code: code, Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
		Host: d.Host, App: "demo", Version: "1.0.0", Nonce: servertest.Nonce(), Time: at.Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func offlineDeactivate(t *testing.T, key ed25519.PrivateKey, id string, at time.Time) string {
	t.Helper()
	text, err := offline.SignRequest(key, offline.Request{
		Kind: offline.KindDeactivate, ActivationID: id, Host: "h", Nonce: servertest.Nonce(), Time: at.Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func bound(t *testing.T, e *servertest.Env, code string) int {
	t.Helper()
	info, err := e.Service.CodeInfo(ctx, code)
	if errs.Is(err, errs.NotExist) {
		return 0 // never activated: the server does not know it
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.Bound()
}

func TestOfflineActivation(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 1)
	d := servertest.NewDevice(1)
	// Written a week ago on the offline desktop, carried over.
	req := offlineActivate(t, d, code, e.Clock.Now().Add(-7*24*time.Hour))
	ans, err := e.Service.AnswerOffline(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("request %d bytes, answer %d bytes", len(req), len(ans.Text))
	if len(ans.Text) > offline.QRBytes {
		t.Errorf("answer of %d bytes: more than one QR code holds", len(ans.Text))
	}
	pub := e.Key.Public()
	keys := map[string]ed25519.PublicKey{token.KeyID(pub): pub}
	a, err := offline.VerifyAnswer(ans.Text, keys)
	if err != nil || a.Kind != offline.KindActivate || a.ActivationID != ans.Activation.ID {
		t.Fatalf("answer %+v, %v", a, err)
	}
	c, err := activation.Verify(a.Token, activation.Keys{token.KeyID(pub): pub}, e.Clock.Now())
	if err != nil || c.Fingerprint != d.Fingerprint || c.DeviceKey != activation.Thumbprint(d.Public()) {
		t.Fatalf("token %+v, %v", c, err)
	}
	if bound(t, e, code) != 1 {
		t.Fatal("no seat bound")
	}

	// The same file again: refused, nothing changes.
	if _, err := e.Service.AnswerOffline(ctx, req); !errs.Is(err, errs.Permission) || !strings.Contains(err.Error(), "answered before") {
		t.Fatalf("replay: %v", err)
	}
	// The seat is held: another machine's request is refused like online.
	other := servertest.NewDevice(2)
	_, err = e.Service.AnswerOffline(ctx, offlineActivate(t, other, code, e.Clock.Now()))
	refusal(t, err, errs.NotActivated, server.ReasonSeatsFull)
	if bound(t, e, code) != 1 {
		t.Fatal("seat count changed")
	}

	// The device checks online later like any other activation.
	if _, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(ans.Activation.ID, e.Clock.Now())}); err != nil {
		t.Fatal(err)
	}

	// Deactivation by file: a key other than the activation's is refused.
	_, err = e.Service.AnswerOffline(ctx, offlineDeactivate(t, other.Key, ans.Activation.ID, e.Clock.Now()))
	if !errs.Is(err, errs.Permission) || bound(t, e, code) != 1 {
		t.Fatalf("deactivation signed by another key: %v", err)
	}
	deact := offlineDeactivate(t, d.Key, ans.Activation.ID, e.Clock.Now())
	got, err := e.Service.AnswerOffline(ctx, deact)
	if err != nil || !got.Freed || got.Kind != offline.KindDeactivate || bound(t, e, code) != 0 {
		t.Fatalf("deactivate: %+v, %v", got, err)
	}
	if a, err := offline.VerifyAnswer(got.Text, keys); err != nil || a.Kind != offline.KindDeactivate || a.Token != "" {
		t.Fatalf("deactivation answer %+v, %v", a, err)
	}
	if _, err := e.Service.AnswerOffline(ctx, deact); !errs.Is(err, errs.Permission) {
		t.Fatalf("deactivation replayed: %v", err)
	}
	// The freed seat goes to the other machine.
	if _, err := e.Service.AnswerOffline(ctx, offlineActivate(t, other, code, e.Clock.Now())); err != nil {
		t.Fatal(err)
	}
}

// The default validity: 30 days.
func TestOfflineDefaultValidity(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 2)
	now := e.Clock.Now()
	if _, err := e.Service.AnswerOffline(ctx, offlineActivate(t, servertest.NewDevice(1), code, now.Add(-31*24*time.Hour))); !errs.Is(err, errs.Invalid) {
		t.Fatalf("31 days old: %v", err)
	}
	if _, err := e.Service.AnswerOffline(ctx, offlineActivate(t, servertest.NewDevice(2), code, now.Add(-29*24*time.Hour))); err != nil {
		t.Fatalf("29 days old: %v", err)
	}
}

func TestOfflineRefused(t *testing.T) {
	e := servertest.New(t, "", server.Config{OfflineRequestTTL: 10 * 24 * time.Hour})
	code := e.Code(t, 1)
	d := servertest.NewDevice(1)
	now := e.Clock.Now()
	edited := func() string {
		// A request signed for one code, its payload swapped for another's.
		p := strings.Split(offlineActivate(t, d, code, now), ".")
		q := strings.Split(offlineActivate(t, d, e.Code(t, 5), now), ".")
		return p[0] + "." + q[1] + "." + p[2]
	}()
	for name, tc := range map[string]struct {
		text string
		kind errs.Kind
	}{
		"stale":              {offlineActivate(t, d, code, now.Add(-11*24*time.Hour)), errs.Invalid},
		"from the future":    {offlineActivate(t, d, code, now.Add(time.Hour)), errs.Invalid},
		"edited":             {edited, errs.Permission},
		"garbage":            {"not a request", errs.Invalid},
		"unknown code":       {offlineActivate(t, d, "ZZ12CD34EF56GH78JK90LM12NP34QR56", now), errs.NotFound},
		"unknown activation": {offlineDeactivate(t, d.Key, "act_nope", now), errs.NotActivated},
		"bad fingerprint": {func() string {
			x := *d
			x.Fingerprint = "nonsense"
			return offlineActivate(t, &x, code, now)
		}(), errs.Invalid},
	} {
		if _, err := e.Service.AnswerOffline(ctx, tc.text); !errs.Is(err, tc.kind) {
			t.Errorf("%s: %v (kind %v), want kind %v", name, err, errs.KindOf(err), tc.kind)
		}
	}
	if n := bound(t, e, code); n != 0 {
		t.Fatalf("%d seats bound by refused requests", n)
	}
	if err := (server.Config{OfflineRequestTTL: 400 * 24 * time.Hour}).Validate(); err == nil {
		t.Fatal("a validity over a year accepted")
	}
}

// Two replicas answering the same request file at once: one answers, the
// other is told it was answered, and one seat is bound; on one SQLite file
// and on PostgreSQL.
func TestOfflineReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { offlineReplicas(t, "") })
	t.Run("postgres", func(t *testing.T) { offlineReplicas(t, testutil.StartPostgres(t).NewDatabase(t)) })
}

func offlineReplicas(t *testing.T, db string) {
	e := servertest.New(t, db, server.Config{})
	code := e.Code(t, 3)
	other := e.Replica(t)
	req := offlineActivate(t, servertest.NewDevice(1), code, e.Clock.Now())
	errc := make(chan error, 2)
	for _, s := range []*server.Service{e.Service, other} {
		go func() { _, err := s.AnswerOffline(ctx, req); errc <- err }()
	}
	ok := 0
	for range 2 {
		if err := <-errc; err == nil {
			ok++
		} else if !errs.Is(err, errs.Permission) {
			t.Fatal(err)
		}
	}
	if ok != 1 || bound(t, e, code) != 1 {
		t.Fatalf("%d answered, %d bound", ok, bound(t, e, code))
	}
}

func BenchmarkAnswerOffline(b *testing.B) {
	e := servertest.New(b, "", server.Config{})
	code := e.Code(b, 1)
	d := servertest.NewDevice(1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		text, _ := offline.SignRequest(d.Key, offline.Request{
			Kind: offline.KindActivate, Code: code, Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
			Host: d.Host, Nonce: servertest.Nonce(), Time: e.Clock.Now().Unix(),
		})
		b.StartTimer()
		if _, err := e.Service.AnswerOffline(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
}
