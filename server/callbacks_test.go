package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/server"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

func refreshEvent(code string, exp time.Time, scene string) callback.Event {
	return callback.Event{Activity: callback.ActivityRefresh, Scene: scene, OrderID: "order-1", OrderLineID: "line-1",
		License: code, ProductID: "prod-1", ExpireTime: exp.UTC().Format(callback.ExpireLayout), TestFlag: "1"}
}

func releaseEvent(code string) callback.Event {
	return callback.Event{Activity: callback.ActivityRelease, License: code, OrderID: "order-1", OrderLineID: "line-1"}
}

func asyncEvent(event, fp string, eff, exp time.Time) callback.Event {
	e := callback.Event{Activity: callback.ActivityLicense, InstanceID: "inst-1", EventID: event,
		EffectiveTime: callback.FormatTime(eff), DeviceFingerprint: fp, TestFlag: "0"}
	if !exp.IsZero() {
		e.ExpireTime = callback.FormatTime(exp)
	}
	return e
}

func wantResult(t *testing.T, got server.CallbackResult, code string) {
	t.Helper()
	if got.ResultCode != code {
		t.Fatalf("result %s (%s), want %s", got.ResultCode, got.ResultMsg, code)
	}
}

// count runs a count(*) query on the Env's database.
func count(t *testing.T, e *servertest.Env, table string) int {
	t.Helper()
	var n int
	if err := e.Store.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func storedCode(t *testing.T, e *servertest.Env, code string) server.Code {
	t.Helper()
	c, err := e.Store.Code(ctx, activation.CodeHash(code))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// activated is an Env with a 1-seat code bound to one device.
func activated(t *testing.T) (*servertest.Env, string, *servertest.Device, server.Grant) {
	t.Helper()
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 1)
	d := servertest.NewDevice(1)
	g, err := e.Service.Activate(ctx, d.ActivateRequest(code))
	if err != nil {
		t.Fatal(err)
	}
	return e, code, d, g
}

// A renewal moves the code's expiry: the device's next check gets a token
// with it, without a marketplace query; sent 60 times (the marketplace's
// retries) it is applied once. An unsubscribe moves it back.
func TestCallbackRefresh(t *testing.T) {
	e, code, d, g := activated(t)
	renewed := e.Clock.Now().Add(400 * 24 * time.Hour).Truncate(time.Second)
	for i := range 60 {
		res := e.Service.Callback(ctx, e.CallbackRequest(t, refreshEvent(code, renewed, callback.SceneRenewal)))
		wantResult(t, res, callback.ResultSuccess)
		if res.Applied != (i == 0) {
			t.Fatalf("call %d: applied %v", i, res.Applied)
		}
	}
	if n := count(t, e, "callback_events"); n != 1 {
		t.Fatalf("%d events recorded, want 1", n)
	}
	queries := e.Upstream.Get("query")
	e.Clock.Advance(time.Hour)
	g2, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Unix(g2.Claims.Expires, 0); !got.Equal(renewed) {
		t.Fatalf("token expires %v, want the renewal's %v", got, renewed)
	}
	if q := e.Upstream.Get("query"); q != queries {
		t.Fatalf("the check asked the marketplace (%d queries): the callback's news is fresh", q-queries)
	}
	// Unsubscribing the renewal period: the expiry moves back, into the
	// past here, so the next check is refused as expired.
	back := e.Clock.Now().Add(-time.Minute).Truncate(time.Second)
	res := e.Service.Callback(ctx, e.CallbackRequest(t, refreshEvent(code, back, callback.SceneUnsubscribe)))
	wantResult(t, res, callback.ResultSuccess)
	if c := storedCode(t, e, code); !c.ExpireTime.Equal(back) || c.Status != licensing.StatusExpired {
		t.Fatalf("after unsubscribe: %v %s", c.ExpireTime, c.Status)
	}
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Expired, server.ReasonExpired)

	// A code the server has never seen is recorded from the event, and its
	// first activation still goes to the marketplace.
	fresh := e.Code(t, 1)
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, refreshEvent(fresh, renewed, callback.SceneRenewal))), callback.ResultSuccess)
	if c := storedCode(t, e, fresh); c.Status != licensing.StatusAlive || !c.ExpireTime.Equal(renewed) || !c.QueriedAt.IsZero() || c.ProductID != "prod-1" {
		t.Fatalf("unknown code recorded as %+v", c)
	}
	activations := e.Upstream.Get("activate")
	if _, err := e.Service.Activate(ctx, servertest.NewDevice(2).ActivateRequest(fresh)); err != nil {
		t.Fatal(err)
	}
	if e.Upstream.Get("activate") != activations+1 {
		t.Fatal("the first activation of a code known from an event did not activate it upstream")
	}
}

// A release stops the code's activations at their next check and device
// licenses at once; 60 repeats apply it once; a released code never
// comes back (not even by a later refresh); a release of a code the server
// has not seen refuses its activation without asking the marketplace.
func TestCallbackRelease(t *testing.T) {
	e, code, d, g := activated(t)
	applied := 0
	for range 60 {
		res := e.Service.Callback(ctx, e.CallbackRequest(t, releaseEvent(code)))
		wantResult(t, res, callback.ResultSuccess)
		if res.Applied {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("applied %d times", applied)
	}
	_, err := e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Released, server.ReasonReleased)
	_, err = e.Service.DeviceLicense(ctx, server.DeviceLicenseRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now()), DevInfo: d.Fingerprint})
	refusal(t, err, errs.Released, server.ReasonReleased)
	e.Clock.Advance(server.DefaultQueryInterval * 3)
	_, err = e.Service.Check(ctx, server.CheckRequest{Signed: d.Signed(g.Activation.ID, e.Clock.Now())})
	refusal(t, err, errs.Released, server.ReasonReleased) // the sandbox still says alive: released is final
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, refreshEvent(code, e.Clock.Now().Add(time.Hour), callback.SceneRenewal))), callback.ResultSuccess)
	if c := storedCode(t, e, code); c.Status != licensing.StatusReleased {
		t.Fatalf("a refresh brought a released code back: %s", c.Status)
	}

	unknown := e.Code(t, 1)
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, releaseEvent(unknown))), callback.ResultSuccess)
	activations := e.Upstream.Get("activate")
	_, err = e.Service.Activate(ctx, servertest.NewDevice(2).ActivateRequest(unknown))
	refusal(t, err, errs.Released, server.ReasonReleased)
	if e.Upstream.Get("activate") != activations {
		t.Fatal("a code released by callback was activated upstream")
	}
}

// snapshot is the state a refused callback must leave alone.
func snapshot(t *testing.T, e *servertest.Env, code string) string {
	c := storedCode(t, e, code)
	return fmt.Sprintf("%s %v %d %d %d", c.Status, c.ExpireTime, count(t, e, "callback_events"), count(t, e, "async_licenses"), len(e.Receiver.Uploads()))
}

// Refused before anything else, with the published codes and no change:
// a replayed nonce, a timestamp 61 s old (or ahead), a wrong signature, a
// body changed after signing, missing parameters, a server without a key.
func TestCallbackRefusals(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	code := e.Code(t, 1)
	if _, err := e.Service.Activate(ctx, servertest.NewDevice(1).ActivateRequest(code)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e, code)
	release := e.CallbackRequest(t, releaseEvent(code))
	resign := func(r server.CallbackRequest, at time.Time, key string) server.CallbackRequest {
		q := url.Values{}
		for k, v := range r.Query {
			q[k] = v
		}
		ts := callback.Timestamp(at)
		q.Set(callback.ParamTimestamp, ts)
		q.Set(callback.ParamSignature, callback.Sign(key, q.Get(callback.ParamNonce), ts, r.Body))
		return server.CallbackRequest{Query: q, Body: r.Body}
	}
	with := func(r server.CallbackRequest, name, v string) server.CallbackRequest {
		q := url.Values{}
		for k, vs := range r.Query {
			q[k] = vs
		}
		if v == "" {
			q.Del(name)
		} else {
			q.Set(name, v)
		}
		return server.CallbackRequest{Query: q, Body: r.Body}
	}
	async := e.CallbackRequest(t, asyncEvent("ev-1", servertest.NewDevice(5).Fingerprint, e.Clock.Now(), time.Time{}))
	for _, c := range []struct {
		name string
		req  server.CallbackRequest
	}{
		{"61 s old", resign(release, e.Clock.Now().Add(-61*time.Second), servertest.CallbackKey)},
		{"61 s ahead", resign(release, e.Clock.Now().Add(61*time.Second), servertest.CallbackKey)},
		{"seconds not milliseconds", with(release, callback.ParamTimestamp, fmt.Sprint(e.Clock.Now().Unix()))},
		{"wrong key", resign(release, e.Clock.Now(), "another-key")},
		{"wrong signature", with(release, callback.ParamSignature, strings.Repeat("AB", 32))},
		{"body changed", server.CallbackRequest{Query: release.Query, Body: []byte(strings.Replace(string(release.Body), code, e.Code(t, 1), 1))}},
		{"async body changed", server.CallbackRequest{Query: async.Query, Body: []byte(strings.Replace(string(async.Body), "ev-1", "ev-2", 1))}},
		{"no signature", with(release, callback.ParamSignature, "")},
		{"no nonce", with(release, callback.ParamNonce, "")},
		{"no timestamp", with(release, callback.ParamTimestamp, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantResult(t, e.Service.Callback(ctx, c.req), callback.ResultAuthFailed)
			if got := snapshot(t, e, code); got != before {
				t.Fatalf("state changed: %s, was %s", got, before)
			}
		})
	}
	// The genuine call once, then its replay (same nonce, same signature).
	wantResult(t, e.Service.Callback(ctx, release), callback.ResultSuccess)
	after := snapshot(t, e, code)
	if after == before {
		t.Fatal("the genuine release changed nothing")
	}
	e.Clock.Advance(30 * time.Second)
	wantResult(t, e.Service.Callback(ctx, release), callback.ResultAuthFailed)
	if got := snapshot(t, e, code); got != after {
		t.Fatalf("the replay changed state: %s", got)
	}

	// A server without a callback key refuses every call.
	noKey := e.Deps(t)
	noKey.CallbackKey = ""
	svc := e.ServiceWith(t, noKey, nil)
	wantResult(t, svc.Callback(ctx, e.CallbackRequest(t, refreshEvent(code, e.Clock.Now().Add(time.Hour), callback.SceneRenewal))), callback.ResultAuthFailed)

	// Signed but invalid: 000002, nothing changes.
	for _, body := range []string{`{"activity":"releaseLicenseCode"}`, `{"activity":"x","license":"L"}`, `not json`,
		`{"activity":"releaseLicenseCode","license":"bad code!"}`} {
		wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, []byte(body))), callback.ResultInvalidParam)
	}
	// One URL per event only for a product configured so.
	r := e.CallbackRequest(t, releaseEvent(code))
	r.Product, r.Activity = "prod-1", callback.ActivityRelease
	wantResult(t, e.Service.Callback(ctx, r), callback.ResultInvalidParam)
	if got := snapshot(t, e, code); got != after {
		t.Fatalf("invalid calls changed state: %s", got)
	}
	per := e.ServiceWith(t, e.Deps(t), func(c *server.Config) {
		c.Products = map[string]server.Product{"prod-1": {CallbackURLs: server.CallbackURLsPerEvent}}
	})
	body := []byte(fmt.Sprintf(`{"license":%q}`, code)) // no activity: the path names it
	r = e.CallbackRequest(t, body)
	r.Product, r.Activity = "prod-1", callback.ActivityRelease
	wantResult(t, per.Callback(ctx, r), callback.ResultSuccess)
}

// A product configured for the header form verifies x-sign, x-timestamp
// and x-nonce, and refuses the query form (and the reverse).
func TestCallbackHeaderSignature(t *testing.T) {
	e, code, _, _ := activated(t)
	svc := e.ServiceWith(t, e.Deps(t), func(c *server.Config) {
		c.Products = map[string]server.Product{"kit": {CallbackSignature: server.CallbackSignatureHeader}}
	})
	body := []byte(fmt.Sprintf(`{"activity":"releaseLicenseCode","license":%q}`, code))
	headers := func(nonce string, at time.Time, key string) func(string) string {
		ts := callback.Timestamp(at)
		h := map[string]string{callback.HeaderNonce: nonce, callback.HeaderTimestamp: ts,
			callback.HeaderSignature: callback.SignHeader(key, nonce, ts, body)}
		return func(k string) string { return h[k] }
	}
	now := e.Clock.Now()
	for _, c := range []struct {
		name string
		req  server.CallbackRequest
		want string
	}{
		{"query form", func() server.CallbackRequest { r := e.CallbackRequest(t, body); r.Product = "kit"; return r }(), callback.ResultAuthFailed},
		{"no headers", server.CallbackRequest{Product: "kit", Body: body}, callback.ResultAuthFailed},
		{"wrong key", server.CallbackRequest{Product: "kit", Body: body, Header: headers("n-1", now, "other")}, callback.ResultAuthFailed},
		{"61 s old", server.CallbackRequest{Product: "kit", Body: body, Header: headers("n-2", now.Add(-61*time.Second), servertest.CallbackKey)}, callback.ResultAuthFailed},
		{"good", server.CallbackRequest{Product: "kit", Body: body, Header: headers("n-3", now, servertest.CallbackKey)}, callback.ResultSuccess},
		{"replayed", server.CallbackRequest{Product: "kit", Body: body, Header: headers("n-3", now, servertest.CallbackKey)}, callback.ResultAuthFailed},
		{"header form on a query-form product", server.CallbackRequest{Product: "other", Body: body, Header: headers("n-4", now, servertest.CallbackKey)}, callback.ResultAuthFailed},
	} {
		t.Run(c.name, func(t *testing.T) { wantResult(t, svc.Callback(ctx, c.req), c.want) })
	}
	if c := storedCode(t, e, code); c.Status != licensing.StatusReleased {
		t.Fatalf("status %s", c.Status)
	}
}

// The asynchronous license: issued bound to the fingerprint, delivered at
// once through the upload API (000000), the same license for the same
// event and fingerprint, verifiable with the vendor key; the business
// refusals answer their 0009xx codes and store nothing.
func TestCallbackAsyncLicense(t *testing.T) {
	e := servertest.New(t, "", server.Config{Products: map[string]server.Product{
		"periodic": {Periodic: true, AsyncQuota: 2},
	}})
	now := e.Clock.Now()
	d := servertest.NewDevice(7)
	exp := now.Add(365 * 24 * time.Hour).Truncate(time.Second)
	ev := asyncEvent("event-1", d.Fingerprint, now, exp)
	for i := range 5 {
		res := e.Service.Callback(ctx, e.CallbackRequest(t, ev))
		wantResult(t, res, callback.ResultSuccess)
		if res.Applied != (i == 0) {
			t.Fatalf("call %d applied %v", i, res.Applied)
		}
	}
	ups := e.Receiver.Uploads()
	if len(ups) != 1 || ups[0].EventID != "event-1" {
		t.Fatalf("uploads %+v, want one for event-1", ups)
	}
	cl, err := token.Verify(string(ups[0].Content), e.Key.Public(), now)
	if err != nil {
		t.Fatal(err)
	}
	if cl.DevInfo != d.Fingerprint || cl.License != "inst-1" || !time.Unix(cl.Expires, 0).Equal(exp) {
		t.Fatalf("claims %+v", cl)
	}
	bound, _ := devinfo.Parse(cl.DevInfo)
	here, _ := devinfo.Parse(d.Fingerprint)
	if !devinfo.Compare(bound, here).SameMachine {
		t.Fatal("the license does not verify against the device")
	}
	l, err := e.Store.AsyncLicense(ctx, "event-1", d.Fingerprint)
	if err != nil || l.Token != string(ups[0].Content) || l.State != server.UploadDone || l.Attempts != 1 {
		t.Fatalf("stored %+v, %v", l, err)
	}

	other := servertest.NewDevice(8)
	for _, c := range []struct {
		name, product string
		ev            callback.Event
		want          string
	}{
		{"no fingerprint", "", asyncEvent("e2", "", now, exp), callback.ResultNeedDeviceInfo},
		{"fingerprint of one unit part", "", asyncEvent("e3", "02:00:00:00:00:09|||CPU9", now, exp), callback.ResultNeedDeviceInfo},
		{"fingerprint of no unit part", "", asyncEvent("e3b", "|||CPU9", now, exp), callback.ResultNeedDeviceInfo},
		{"periodic without expiry", "periodic", asyncEvent("e4", other.Fingerprint, now, time.Time{}), callback.ResultNeedExpiry},
		{"expired order", "", asyncEvent("e5", other.Fingerprint, now.Add(-48*time.Hour), now.Add(-time.Hour)), callback.ResultOutsideValid},
		{"expiry before effective", "", asyncEvent("e6", other.Fingerprint, now.Add(48*time.Hour), now.Add(24*time.Hour)), callback.ResultOutsideValid},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := count(t, e, "async_licenses")
			r := e.CallbackRequest(t, c.ev)
			r.Product = c.product
			wantResult(t, e.Service.Callback(ctx, r), c.want)
			if count(t, e, "async_licenses") != before {
				t.Fatal("a refused request stored a license")
			}
		})
	}

	// Quota: 2 devices per instance for "periodic"; the same device on
	// another event does not count twice; a third device is refused.
	for i, fp := range []string{other.Fingerprint, other.Fingerprint, servertest.NewDevice(9).Fingerprint} {
		ev := asyncEvent(fmt.Sprintf("q%d", i), fp, now, exp)
		ev.InstanceID = "inst-q"
		r := e.CallbackRequest(t, ev)
		r.Product = "periodic"
		wantResult(t, e.Service.Callback(ctx, r), callback.ResultSuccess)
	}
	ev = asyncEvent("q9", servertest.NewDevice(10).Fingerprint, now, exp)
	ev.InstanceID = "inst-q"
	r := e.CallbackRequest(t, ev)
	r.Product = "periodic"
	wantResult(t, e.Service.Callback(ctx, r), callback.ResultNoQuota)

	// A perpetual license (no expiry) lasts; its token still has an exp.
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("perp", servertest.NewDevice(11).Fingerprint, now, time.Time{}))), callback.ResultSuccess)
}

// Delivery that fails: the callback answers 000004 within its budget, the
// queue retries with backoff until the marketplace accepts; a final refusal
// stops the retries and records why.
func TestCallbackAsyncRetries(t *testing.T) {
	e := servertest.New(t, "", server.Config{Uploads: server.UploadPolicy{Backoff: time.Minute, MaxBackoff: 4 * time.Minute}})
	now := e.Clock.Now()
	d := servertest.NewDevice(1)
	e.Receiver.FailNext(3, callback.UploadInternal)
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("ev", d.Fingerprint, now, time.Time{}))), callback.ResultProcessing)
	// Not due yet: nothing is sent.
	if n, err := e.Service.WorkUploads(ctx); n != 0 || err != nil || e.Receiver.Calls() != 1 {
		t.Fatalf("worked %d, %v, calls %d", n, err, e.Receiver.Calls())
	}
	for i, wait := range []time.Duration{time.Minute, 2 * time.Minute} {
		e.Clock.Advance(wait)
		if n, err := e.Service.WorkUploads(ctx); n != 0 || err != nil {
			t.Fatalf("retry %d delivered %d, %v", i, n, err)
		}
	}
	l, _ := e.Store.AsyncLicense(ctx, "ev", d.Fingerprint)
	if l.State != server.UploadPending || l.Attempts != 3 || l.LastCode != callback.UploadInternal || !l.NextAt.Equal(e.Clock.Now().Add(4*time.Minute)) {
		t.Fatalf("after 3 failures: %+v", l)
	}
	e.Clock.Advance(4 * time.Minute)
	if n, err := e.Service.WorkUploads(ctx); n != 1 || err != nil {
		t.Fatalf("worked %d, %v", n, err)
	}
	if ups := e.Receiver.Uploads(); len(ups) != 1 {
		t.Fatalf("%d uploads", len(ups))
	}
	// The marketplace's retry of the callback now finds it delivered.
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("ev", d.Fingerprint, now, time.Time{}))), callback.ResultSuccess)

	// A final refusal.
	e.Receiver.FailNext(1, callback.UploadResource)
	d2 := servertest.NewDevice(2)
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("ev2", d2.Fingerprint, now, time.Time{}))), callback.ResultProcessing)
	l, _ = e.Store.AsyncLicense(ctx, "ev2", d2.Fingerprint)
	if l.State != server.UploadFailed || l.LastCode != callback.UploadResource {
		t.Fatalf("after a final refusal: %+v", l)
	}
	e.Clock.Advance(time.Hour)
	calls := e.Receiver.Calls()
	if n, _ := e.Service.WorkUploads(ctx); n != 0 || e.Receiver.Calls() != calls {
		t.Fatal("a refused upload was sent again")
	}
	wantResult(t, e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("ev2", d2.Fingerprint, now, time.Time{}))), callback.ResultInternal)
	counts, err := e.Service.UploadCounts(ctx)
	if err != nil || counts[server.UploadDone] != 1 || counts[server.UploadFailed] != 1 {
		t.Fatalf("counts %v, %v", counts, err)
	}
}

// The marketplace does not answer the upload: the callback still answers
// within its 5 s (000004) and the upload stays queued.
func TestCallbackAnswersInTime(t *testing.T) {
	e := servertest.New(t, "", server.Config{Uploads: server.UploadPolicy{Inline: 300 * time.Millisecond}})
	release := e.Receiver.Hold()
	defer release()
	start := time.Now()
	res := e.Service.Callback(ctx, e.CallbackRequest(t, asyncEvent("slow", servertest.NewDevice(1).Fingerprint, e.Clock.Now(), time.Time{})))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v", d)
	}
	wantResult(t, res, callback.ResultProcessing)
	release()
	e.Clock.Advance(time.Hour)
	if n, err := e.Service.WorkUploads(ctx); n != 1 || err != nil {
		t.Fatalf("worked %d, %v", n, err)
	}
}

// A process that answered 000004 and died before delivering: another (or
// the same after a restart) delivers from the queue; a dead holder's lease
// lapses.
func TestCallbackUploadSurvivesRestart(t *testing.T) {
	e := servertest.New(t, "", server.Config{})
	dead := e.Deps(t)
	dead.Uploader = nil // it dies before any upload
	svc := e.ServiceWith(t, dead, nil)
	d := servertest.NewDevice(1)
	wantResult(t, svc.Callback(ctx, e.CallbackRequest(t, asyncEvent("ev", d.Fingerprint, e.Clock.Now(), time.Time{}))), callback.ResultProcessing)
	// A holder that claimed it and died: its lease blocks the others
	// until it lapses.
	if got, err := e.Store.ClaimUploads(ctx, "dead-process", e.Clock.Now(), e.Clock.Now().Add(server.DefaultUploadLease), 10, "", ""); err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %v", got, err)
	}
	after := e.Replica(t)
	if n, err := after.WorkUploads(ctx); n != 0 || err != nil {
		t.Fatalf("delivered %d under another's lease (%v)", n, err)
	}
	e.Clock.Advance(server.DefaultUploadLease)
	if n, err := after.WorkUploads(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d, %v", n, err)
	}
	if ok, err := e.Store.FinishUpload(ctx, "dead-process", server.UploadResult{EventID: "ev", Fingerprint: d.Fingerprint, State: server.UploadFailed}); ok || err != nil {
		t.Fatalf("the dead holder's late outcome was recorded: %v %v", ok, err)
	}
	if l, _ := e.Store.AsyncLicense(ctx, "ev", d.Fingerprint); l.State != server.UploadDone {
		t.Fatalf("state %s", l.State)
	}
}

// Two replicas receive the same callbacks at once, on one SQLite file and
// on one PostgreSQL: each event is applied once, the same signed request
// is accepted by one of them only, and one async license is issued and
// uploaded once.
func TestCallbackReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { callbackReplicas(t, "") })
	t.Run("postgres", func(t *testing.T) {
		pg := testutil.StartPostgres(t)
		callbackReplicas(t, pg.NewDatabase(t))
	})
}

func callbackReplicas(t *testing.T, dbURL string) {
	e := servertest.New(t, dbURL, server.Config{})
	replicas := []*server.Service{e.Service, e.Replica(t)}
	code := e.Code(t, 1)
	renewed := e.Clock.Now().Add(100 * 24 * time.Hour).Truncate(time.Second)
	const perReplica = 10
	var mu sync.Mutex
	results := map[string]int{}
	applied := 0
	record := func(r server.CallbackResult) {
		mu.Lock()
		results[r.ResultCode]++
		if r.Applied {
			applied++
		}
		mu.Unlock()
	}
	// The marketplace's retries of one event (each freshly signed) land on
	// both replicas at once.
	var reqs []server.CallbackRequest
	for range 2 * perReplica {
		reqs = append(reqs, e.CallbackRequest(t, refreshEvent(code, renewed, callback.SceneRenewal)))
	}
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { record(replicas[i%2].Callback(ctx, r)) })
	}
	wg.Wait()
	if results[callback.ResultSuccess] != 2*perReplica || applied != 1 {
		t.Fatalf("results %v, applied %d: want all success, applied once", results, applied)
	}
	// One signed request delivered to both at once: one accepts it.
	clear(results)
	applied = 0
	same := e.CallbackRequest(t, releaseEvent(code))
	for _, s := range replicas {
		wg.Go(func() { record(s.Callback(ctx, same)) })
	}
	wg.Wait()
	if results[callback.ResultSuccess] != 1 || results[callback.ResultAuthFailed] != 1 || applied != 1 {
		t.Fatalf("same request on two replicas: %v, applied %d", results, applied)
	}
	// One async event on both replicas at once, repeated.
	clear(results)
	d := servertest.NewDevice(3)
	for i := range 2 * perReplica {
		r := e.CallbackRequest(t, asyncEvent("shared", d.Fingerprint, e.Clock.Now(), time.Time{}))
		wg.Go(func() { record(replicas[i%2].Callback(ctx, r)) })
	}
	wg.Wait()
	if results[callback.ResultSuccess]+results[callback.ResultProcessing] != 2*perReplica {
		t.Fatalf("async on two replicas: %v", results)
	}
	for _, s := range replicas {
		if _, err := s.WorkUploads(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ups := e.Receiver.Uploads(); len(ups) != 1 {
		t.Fatalf("%d uploads of one license, want 1", len(ups))
	}
	if n := count(t, e, "async_licenses"); n != 1 {
		t.Fatalf("%d licenses stored", n)
	}
}
