package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// vendor is a vendor server's callback endpoint: it verifies every call as
// the real one must (callback.Verify, nonce never seen before, strict
// body), records it and answers the codes it is told to, in order (the last
// one repeats; none means 000000).
type vendor struct {
	t     testing.TB
	key   string
	clock func() time.Time
	url   string

	mu      sync.Mutex
	answers []string
	events  []callback.Event
	nonces  map[string]bool
	refused []error // calls that failed verification
}

func newVendor(t testing.TB, key string, clock func() time.Time, answers ...string) *vendor {
	v := &vendor{t: t, key: key, clock: clock, answers: answers, nonces: map[string]bool{}}
	ts := httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(ts.Close)
	v.url = ts.URL + "/cb?product=p1"
	return v
}

func (v *vendor) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	defer v.mu.Unlock()
	answer := func(code string) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		json.NewEncoder(w).Encode(callback.Answer{ResultCode: code, ResultMsg: "m" + code})
	}
	if r.URL.Query().Get("product") != "p1" {
		v.refused = append(v.refused, errors.New("the URL's own query was lost"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		v.refused = append(v.refused, errors.New("Content-Type "+ct))
	}
	nonce, err := callback.Verify(v.key, r.URL.Query(), body, v.clock())
	if err == nil && v.nonces[nonce] {
		err = errors.New("nonce replayed")
	}
	if err != nil {
		v.refused = append(v.refused, err)
		answer(callback.ResultAuthFailed)
		return
	}
	v.nonces[nonce] = true
	ev, err := callback.Parse(body, "")
	if err != nil {
		v.refused = append(v.refused, err)
		answer(callback.ResultInvalidParam)
		return
	}
	v.events = append(v.events, ev)
	code := callback.ResultSuccess
	if len(v.answers) > 0 {
		code = v.answers[0]
		if len(v.answers) > 1 {
			v.answers = v.answers[1:]
		}
	}
	answer(code)
}

func (v *vendor) received() []callback.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.refused) > 0 {
		v.t.Errorf("vendor refused calls: %v", v.refused)
	}
	return append([]callback.Event(nil), v.events...)
}

// newCallbackEnv is a sandbox with a vendor URL set and the given retry
// schedule.
func newCallbackEnv(t *testing.T, retry sandbox.Retry, answers ...string) (*env, *vendor) {
	t.Helper()
	e := newEnv(t, sandbox.Config{Retry: retry})
	v := newVendor(t, e.srv.CallbackKey(), e.clock.Now, answers...)
	if err := e.srv.SetVendorURL(v.url); err != nil {
		t.Fatal(err)
	}
	return e, v
}

func wantCallback(t *testing.T, srv *sandbox.Server, id, state string, attempts int) sandbox.Callback {
	t.Helper()
	c, ok := srv.CallbackByID(id)
	if !ok {
		t.Fatalf("callback %s not listed", id)
	}
	if c.State != state || c.Attempts != attempts {
		t.Fatalf("callback %s: state %s after %d tries (result %q), want %s after %d", id, c.State, c.Attempts, c.Result, state, attempts)
	}
	return c
}

// A renewal changes the code's expiry at once (the marketplace's own
// query answers it) and reaches the vendor signed, with the new expiry.
func TestRefreshSent(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{})
	code := e.code(sandbox.StateActive, 0)
	expire := t0.AddDate(2, 0, 0)
	id, err := e.srv.Refresh(code, callback.SceneRenewal, expire)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := e.srv.Lookup(code); !l.ExpireTime.Equal(expire) {
		t.Fatalf("expiry %v, want %v", l.ExpireTime, expire)
	}
	if n := e.srv.SendDue(context.Background()); n != 1 {
		t.Fatalf("SendDue tried %d", n)
	}
	wantCallback(t, e.srv, id, sandbox.CallbackDelivered, 1)
	got := v.received()
	if len(got) != 1 {
		t.Fatalf("vendor got %d calls", len(got))
	}
	ev := got[0]
	l, _ := e.srv.Lookup(code)
	if ev.Activity != callback.ActivityRefresh || ev.Scene != callback.SceneRenewal || ev.License != code ||
		ev.ExpireTime != expire.Format(callback.ExpireLayout) || ev.OrderID != l.OrderID || ev.ProductID != l.ProductID {
		t.Fatalf("event %+v", ev)
	}
	// Delivered: never sent again.
	e.clock.Add(time.Hour)
	if n := e.srv.SendDue(context.Background()); n != 0 {
		t.Fatalf("a delivered callback was tried again (%d)", n)
	}
}

func TestRefreshRefused(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	for _, c := range []struct {
		code, scene string
		expire      time.Time
		kind        errs.Kind
	}{
		{e.code(sandbox.StateActive, 0), "LATER", t0, errs.Invalid},
		{e.code(sandbox.StateActive, 0), callback.SceneRenewal, time.Time{}, errs.Invalid},
		{"PL000000000000000000000000000000", callback.SceneRenewal, t0, errs.NotFound},
		{e.code(sandbox.StateReady, 0), callback.SceneRenewal, t0, errs.NotActivated},
		{e.code(sandbox.StateReleased, 0), callback.SceneRenewal, t0, errs.Released},
	} {
		if _, err := e.srv.Refresh(c.code, c.scene, c.expire); errs.KindOf(err) != c.kind {
			t.Errorf("Refresh(%s, %s) = %v, want kind %v", c.code, c.scene, err, c.kind)
		}
	}
	if n := len(e.srv.Callbacks()); n != 0 {
		t.Fatalf("%d callbacks queued by refused calls", n)
	}
}

// A release is retried as the marketplace does: every interval, a fresh
// nonce each time, until the vendor answers 000000.
func TestReleaseRetried(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{}, callback.ResultInternal, "", callback.ResultAuthFailed, callback.ResultSuccess)
	code := e.code(sandbox.StateActive, 0)
	id, err := e.srv.Release(code)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := e.srv.Lookup(code); l.Status != licensing.StatusReleased {
		t.Fatalf("status %s after Release", l.Status)
	}
	ctx := context.Background()
	for try := 1; try <= 4; try++ {
		if n := e.srv.SendDue(ctx); n != 1 {
			t.Fatalf("try %d: SendDue tried %d", try, n)
		}
		if try < 4 {
			c := wantCallback(t, e.srv, id, sandbox.CallbackPending, try)
			if !c.NextAt.Equal(e.clock.Now().Add(sandbox.DefaultReleaseInterval)) {
				t.Fatalf("next try at %v", c.NextAt)
			}
			e.clock.Add(sandbox.DefaultReleaseInterval - time.Second)
			if n := e.srv.SendDue(ctx); n != 0 {
				t.Fatal("retried before the interval")
			}
			e.clock.Add(time.Second)
		}
	}
	wantCallback(t, e.srv, id, sandbox.CallbackDelivered, 4)
	for _, ev := range v.received() {
		if ev.Activity != callback.ActivityRelease || ev.License != code {
			t.Fatalf("event %+v", ev)
		}
	}
}

func TestReleaseGivesUp(t *testing.T) {
	const attempts = 60
	e, v := newCallbackEnv(t, sandbox.Retry{ReleaseInterval: time.Second}, callback.ResultInternal)
	id, err := e.srv.Release(e.code(sandbox.StateActive, 0))
	if err != nil {
		t.Fatal(err)
	}
	for range attempts + 5 {
		e.srv.SendDue(context.Background())
		e.clock.Add(time.Second)
	}
	c := wantCallback(t, e.srv, id, sandbox.CallbackGaveUp, attempts)
	if c.Result != callback.ResultInternal {
		t.Fatalf("result %q", c.Result)
	}
	if n := len(v.received()); n != attempts {
		t.Fatalf("vendor got %d calls, want %d", n, attempts)
	}
}

// Other events are retried for Retry.For, then given up.
func TestRefreshGivesUpAfterAnHour(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	// Nobody listens there: every try fails to connect.
	ts := httptest.NewServer(http.NotFoundHandler())
	dead := ts.URL
	ts.Close()
	if err := e.srv.SetVendorURL(dead); err != nil {
		t.Fatal(err)
	}
	id, err := e.srv.Refresh(e.code(sandbox.StateActive, 0), callback.SceneRenewal, t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tries := 0
	for e.clock.Now().Before(t0.Add(2 * time.Hour)) {
		tries += e.srv.SendDue(context.Background())
		e.clock.Add(time.Minute)
	}
	// Tries at 0, 2, …, 60 minutes: the next one, at 62, is past the hour.
	c := wantCallback(t, e.srv, id, sandbox.CallbackGaveUp, 31)
	if tries != 31 || c.Result != "vendor unreachable" {
		t.Fatalf("%d tries, result %q", tries, c.Result)
	}
}

// Business refusals are final; 000004 delivers getLicenseAsync only.
func TestCallbackOutcomes(t *testing.T) {
	for _, c := range []struct {
		answer, state string
		license       bool
	}{
		{callback.ResultProcessing, sandbox.CallbackDelivered, true},
		{callback.ResultProcessing, sandbox.CallbackPending, false},
		{callback.ResultNeedDeviceInfo, sandbox.CallbackRefused, true},
		{callback.ResultNoQuota, sandbox.CallbackRefused, true},
		{callback.ResultNotFound, sandbox.CallbackRefused, false},
		{callback.ResultInternal, sandbox.CallbackPending, true},
		{"999999", sandbox.CallbackPending, false},
	} {
		t.Run(c.answer, func(t *testing.T) {
			e, v := newCallbackEnv(t, sandbox.Retry{}, c.answer)
			var (
				id  string
				err error
			)
			if c.license {
				id, _, err = e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "inst-1"})
			} else {
				id, err = e.srv.Release(e.code(sandbox.StateActive, 0))
			}
			if err != nil {
				t.Fatal(err)
			}
			e.srv.SendDue(context.Background())
			got := wantCallback(t, e.srv, id, c.state, 1)
			if got.Result != c.answer || got.Message != "m"+c.answer {
				t.Fatalf("result %q %q", got.Result, got.Message)
			}
			v.received()
		})
	}
}

func TestRequestLicenseSent(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{}, callback.ResultProcessing)
	fp := "02:00:00:00:00:01|DISK1|BOARD1|CPU1"
	eff, exp := t0.Add(-time.Hour), t0.AddDate(1, 0, 0)
	id, event, err := e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "inst-1", EventID: "ev-1",
		Fingerprint: fp, Effective: eff, Expire: exp, TestFlag: "1"})
	if err != nil || event != "ev-1" {
		t.Fatal(event, err)
	}
	e.srv.SendDue(context.Background())
	wantCallback(t, e.srv, id, sandbox.CallbackDelivered, 1)
	got := v.received()
	want := callback.Event{Activity: callback.ActivityLicense, InstanceID: "inst-1", EventID: "ev-1",
		EffectiveTime: "2026-03-17 13:42:37 z", ExpireTime: "2027-03-17 14:42:37 z", DeviceFingerprint: fp, TestFlag: "1"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("vendor got %+v\nwant %+v", got, want)
	}
	// Defaults: a fresh event id, effective now.
	_, event2, err := e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "inst-1"})
	if err != nil || event2 == "" || event2 == event {
		t.Fatalf("event %q, %v", event2, err)
	}
	for _, bad := range []sandbox.AsyncLicense{
		{},
		{InstanceID: "i", TestFlag: "2"},
		{InstanceID: "i", EventID: "a/b"},
		{InstanceID: "i", Fingerprint: string(make([]byte, 1025))},
	} {
		if _, _, err := e.srv.RequestLicense(bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("RequestLicense(%+v) = %v", bad, err)
		}
	}
}

// Renewals at term end and scheduled releases happen on the sandbox's own
// schedule, each sending its callback.
func TestSchedule(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{})
	renew, release := e.code(sandbox.StateActive, 0), e.code(sandbox.StateReady, 0)
	l, _ := e.srv.Lookup(renew)
	if err := e.srv.SetAutoRenew(renew, true); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ScheduleRelease(release, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ScheduleRelease(e.code(sandbox.StateReleased, 0), t0.Add(time.Hour)); errs.KindOf(err) != errs.Released {
		t.Fatalf("scheduling the release of a released code: %v", err)
	}
	ctx := context.Background()
	e.srv.SendDue(ctx)
	if n := len(v.received()); n != 0 {
		t.Fatalf("%d callbacks before anything was due", n)
	}
	e.clock.Add(time.Hour)
	e.srv.SendDue(ctx)
	if got := v.received(); len(got) != 1 || got[0].Activity != callback.ActivityRelease || got[0].License != release {
		t.Fatalf("after the release time: %+v", got)
	}
	if st := e.srv.Codes(); st[e.index(release)].State != sandbox.StateReleased {
		t.Fatalf("scheduled release not applied: %+v", st)
	}
	e.clock.Add(l.ExpireTime.Sub(e.clock.Now()))
	e.srv.SendDue(ctx)
	got := v.received()
	newExpiry := l.ExpireTime.Add(sandbox.DefaultTerm)
	if len(got) != 2 || got[1].Activity != callback.ActivityRefresh || got[1].Scene != callback.SceneRenewal ||
		got[1].ExpireTime != newExpiry.Format(callback.ExpireLayout) {
		t.Fatalf("renewal: %+v", got)
	}
	if l2, _ := e.srv.Lookup(renew); l2.Status != licensing.StatusAlive || !l2.ExpireTime.Equal(newExpiry) {
		t.Fatalf("after renewal: %+v", l2)
	}
	// Once each.
	e.srv.SendDue(ctx)
	if n := len(v.received()); n != 2 {
		t.Fatalf("%d callbacks", n)
	}
	// An unsubscribe ends the automatic renewal.
	if _, err := e.srv.Refresh(renew, callback.SceneUnsubscribe, newExpiry.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(newExpiry.Sub(e.clock.Now()))
	e.srv.SendDue(ctx)
	if got := v.received(); len(got) != 3 || got[2].Scene != callback.SceneUnsubscribe {
		t.Fatalf("after unsubscribe: %+v", got)
	}
	if st := e.srv.Codes(); st[e.index(renew)].State != sandbox.StateExpired {
		t.Fatalf("renewed after unsubscribe: %+v", st)
	}
}

func (e *env) index(code string) int {
	for i, c := range e.srv.Codes() {
		if c.Code == code {
			return i
		}
	}
	e.t.Fatalf("no code %s", code)
	return -1
}

// The outbox is in the state file: a callback queued before a restart is
// sent after it, and the callback key stays the same.
func TestCallbacksSurviveRestart(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	key := e.srv.CallbackKey()
	id, err := e.srv.Release(e.code(sandbox.StateActive, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n := e.srv.SendDue(context.Background()); n != 0 {
		t.Fatalf("sent %d with no vendor URL", n)
	}
	srv, err := sandbox.New(sandbox.Config{StatePath: e.path, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if srv.CallbackKey() != key || len(key) < 32 {
		t.Fatalf("callback key changed across a restart")
	}
	v := newVendor(t, key, e.clock.Now)
	if err := srv.SetVendorURL(v.url); err != nil {
		t.Fatal(err)
	}
	srv.SendDue(context.Background())
	wantCallback(t, srv, id, sandbox.CallbackDelivered, 1)
	if n := len(v.received()); n != 1 {
		t.Fatalf("vendor got %d", n)
	}
}

func TestSetVendorURL(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	for _, bad := range []string{"", "ftp://x/", "http://", "https://u:p@x/", "http://x/#f", "://"} {
		if err := e.srv.SetVendorURL(bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("SetVendorURL(%q) = %v", bad, err)
		}
	}
	if e.srv.VendorURL() != "" {
		t.Fatal("a refused URL was kept")
	}
}

// RunCallbacks sends a callback as soon as it is queued, and WaitCallback
// sees it.
func TestRunCallbacks(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.RunCallbacks(ctx) }()
	defer func() { cancel(); <-done }()
	id, err := e.srv.Release(e.code(sandbox.StateActive, 0))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	c, err := e.srv.WaitCallback(wctx, id, 1)
	if err != nil || c.State != sandbox.CallbackDelivered {
		t.Fatalf("%+v %v", c, err)
	}
	if n := len(v.received()); n != 1 {
		t.Fatalf("vendor got %d", n)
	}
}

// BenchmarkCallback measures one refresh: queued, signed, sent to a vendor
// endpoint on loopback that verifies it, and its answer recorded (with the
// state file: two atomic writes, fsync included; in memory: none).
func BenchmarkCallback(b *testing.B) {
	eachStore(b, func(b *testing.B, e *env) {
		v := newVendor(b, e.srv.CallbackKey(), e.clock.Now)
		if err := e.srv.SetVendorURL(v.url); err != nil {
			b.Fatal(err)
		}
		code := e.code(sandbox.StateActive, 0)
		ctx := context.Background()
		for b.Loop() {
			if _, err := e.srv.Refresh(code, callback.SceneRenewal, t0.AddDate(2, 0, 0)); err != nil {
				b.Fatal(err)
			}
			if e.srv.SendDue(ctx) != 1 {
				b.Fatal("not sent")
			}
		}
	})
}

// A vendor slower than the timeout has not answered: the try failed and is
// repeated, as the marketplace does with slow answers.
func TestSlowVendorRetried(t *testing.T) {
	e := newEnv(t, sandbox.Config{CallbackTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		json.NewEncoder(w).Encode(callback.Answer{ResultCode: callback.ResultSuccess})
	}))
	defer slow.Close()
	defer close(release)
	if err := e.srv.SetVendorURL(slow.URL); err != nil {
		t.Fatal(err)
	}
	id, err := e.srv.Release(e.code(sandbox.StateActive, 0))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.srv.SendDue(context.Background())
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the try took %v", d)
	}
	c := wantCallback(t, e.srv, id, sandbox.CallbackPending, 1)
	if c.Result != "no answer within 100ms" {
		t.Fatalf("result %q", c.Result)
	}
}

// A vendor configured with one URL per event gets each at its own path.
func TestVendorURLPerActivity(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	var (
		mu    sync.Mutex
		paths []string
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		code := callback.ResultSuccess
		if _, err := callback.Verify(e.srv.CallbackKey(), r.URL.Query(), body, e.clock.Now()); err != nil {
			code = callback.ResultAuthFailed
		}
		paths = append(paths, r.URL.Path+" "+code)
		json.NewEncoder(w).Encode(callback.Answer{ResultCode: code})
	}))
	defer ts.Close()
	if err := e.srv.SetVendorURL(ts.URL + "/cb/" + sandbox.ActivityPlaceholder); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Release(e.code(sandbox.StateActive, 0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "i"}); err != nil {
		t.Fatal(err)
	}
	e.srv.SendDue(context.Background())
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/cb/releaseLicenseCode 000000", "/cb/getLicenseAsync 000000"}
	if len(paths) != 2 || paths[0] != want[0] || paths[1] != want[1] {
		t.Fatalf("paths %q, want %q", paths, want)
	}
}

// The finished callbacks kept are bounded; the event ids uploads need are
// kept longer, so an early event's upload is still accepted.
func TestOutboxBounded(t *testing.T) {
	e := newMemoryEnv(t)
	v := newVendor(t, e.srv.CallbackKey(), e.clock.Now, callback.ResultProcessing)
	if err := e.srv.SetVendorURL(v.url); err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 120 {
		_, ev, err := e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "i"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = ev
		}
		e.srv.SendDue(context.Background())
	}
	list := e.srv.Callbacks()
	if len(list) != 100 || list[0].EventID == first {
		t.Fatalf("%d callbacks kept", len(list))
	}
	wantUpload(t, e.upload(first, fileUpload(t, "L")...), 200, callback.UploadOK)
	if n := len(v.received()); n != 120 {
		t.Fatalf("vendor got %d", n)
	}
}

// A try cut short by the loop's end (the sandbox stopping) does not count:
// the callback stays due and goes out after the restart.
func TestShutdownMidTry(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	hold := make(chan struct{})
	arrived := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-hold
	}))
	defer ts.Close()
	defer close(hold)
	if err := e.srv.SetVendorURL(ts.URL); err != nil {
		t.Fatal(err)
	}
	id, err := e.srv.Release(e.code(sandbox.StateActive, 0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.SendDue(ctx) }()
	<-arrived
	cancel()
	<-done
	c := wantCallback(t, e.srv, id, sandbox.CallbackPending, 0)
	if c.NextAt.After(e.clock.Now()) {
		t.Fatalf("next try at %v", c.NextAt)
	}
}

func TestScheduledReleaseCancelled(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{})
	code := e.code(sandbox.StateActive, 0)
	if err := e.srv.ScheduleRelease(code, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ScheduleRelease(code, time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	e.srv.SendDue(context.Background())
	if l, _ := e.srv.Lookup(code); l.Status != licensing.StatusAlive || len(v.received()) != 0 || len(e.srv.Callbacks()) != 0 {
		t.Fatalf("a cancelled release happened: %+v", l)
	}
}
