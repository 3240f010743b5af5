package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
)

// The server answers a getLicenseAsync, is killed (-9) before its upload
// is accepted, and delivers the license after the restart: the upload
// queue is in the database.
func TestCrashBetweenAnswerAndUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server")
	}
	bin := binary(t)
	sb, _ := marketplace(t)
	// The marketplace's two APIs on one host: the sandbox's license API and
	// an upload receiver checking the sandbox's AK/SK.
	rcv := &servertest.Receiver{Cred: sb.Credentials()}
	mux := http.NewServeMux()
	mux.Handle("POST "+callback.UploadPattern, rcv)
	mux.Handle("/", sb.Handler())
	mkt := httptest.NewServer(mux)
	defer mkt.Close()

	dir, vendorKey := initDir(t, bin)
	editConfig(t, dir, map[string]any{"uploads": map[string]string{"inline": "300ms", "lease": "2s", "backoff": "1s", "max_backoff": "2s"}})
	srv := startServer(t, bin, dir, mkt.URL, sb)

	release := rcv.Hold() // the marketplace does not answer the upload
	d := servertest.NewDevice(1)
	body, _ := json.Marshal(callback.Event{Activity: callback.ActivityLicense, InstanceID: "inst-crash", EventID: "ev-crash",
		EffectiveTime: callback.FormatTime(time.Now()), DeviceFingerprint: d.Fingerprint, TestFlag: "1"})
	target, err := callback.SignURL(srv.url+httpapi.PathCallbacks, servertest.CallbackKey, body, time.Now(), callback.NewNonce())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.Post(target, "application/json; charset=UTF-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var a callback.Answer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if took := time.Since(start); a.ResultCode != callback.ResultProcessing || took > 5*time.Second {
		t.Fatalf("answer %+v after %v, want 000004 within 5 s", a, took)
	}
	_ = srv.cmd.Process.Kill() // SIGKILL: the upload is in flight, never accepted
	<-srv.done
	release()
	if n := len(rcv.Uploads()); n != 0 {
		t.Fatalf("%d uploads before the restart", n)
	}

	srv2 := startServer(t, bin, dir, mkt.URL, sb)
	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.Uploads()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	ups := rcv.Uploads()
	if len(ups) != 1 || ups[0].EventID != "ev-crash" {
		t.Fatalf("uploads after the restart: %+v\n%s", ups, srv2.stderr)
	}
	pub, err := token.ParsePublicKey(vendorKey)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := token.Verify(string(ups[0].Content), pub, time.Now())
	if err != nil || cl.DevInfo != d.Fingerprint {
		t.Fatalf("the uploaded license: %+v %v", cl, err)
	}
	srv2.stop(t)
	if logs := srv2.stderr.String(); strings.Contains(logs, servertest.CallbackKey) {
		t.Fatal("the callback key is in the log")
	}
}

// The marketplace's side played by the sandbox, end to end with the built
// server: the sandbox sends a signed getLicenseAsync, the server answers
// within 5 s and uploads the device license to the sandbox's upload API,
// which checks the AK/SK signature, the multipart form and the hash; the
// license verifies with the vendor key against the fingerprint. Then a
// second request whose first upload fails, with the server killed (-9)
// after its 000004 answer: the restarted server delivers it.
func TestAsyncLicenseThroughSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills a server")
	}
	bin := binary(t)
	sb, mkt := marketplace(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sb.RunCallbacks(ctx)
	dir, vendorKey := initDir(t, bin)
	editConfig(t, dir, map[string]any{"uploads": map[string]string{"inline": "1s", "lease": "2s", "backoff": "2s", "max_backoff": "2s"}})
	srv := startServer(t, bin, dir, mkt, sb, "ISCDESK_CALLBACK_KEY="+sb.CallbackKey())
	if err := sb.SetVendorURL(srv.url + httpapi.PathCallbacks); err != nil {
		t.Fatal(err)
	}
	pub, err := token.ParsePublicKey(vendorKey)
	if err != nil {
		t.Fatal(err)
	}
	delivered := func(eventID, fp string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			lic, err := sb.Delivered(eventID)
			if err == nil {
				cl, err := token.Verify(string(lic), pub, time.Now())
				if err != nil || cl.DevInfo != fp {
					t.Fatalf("the delivered license: %+v %v", cl, err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no upload for %s: %v\nuploads: %+v", eventID, err, sb.Uploads())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ask := func(d *servertest.Device, instance string) (eventID, result string) {
		t.Helper()
		start := time.Now()
		id, eventID, err := sb.RequestLicense(sandbox.AsyncLicense{InstanceID: instance, Fingerprint: d.Fingerprint,
			Expire: time.Now().Add(365 * 24 * time.Hour), TestFlag: "1"})
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		c, err := sb.WaitCallback(wctx, id, 1)
		if err != nil || c.State != sandbox.CallbackDelivered || c.Attempts != 1 {
			t.Fatalf("callback: %+v %v\n%s", c, err, srv.stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the server answered after %v", took)
		}
		return eventID, c.Result
	}

	d1 := servertest.NewDevice(1)
	ev1, result := ask(d1, "inst-e2e-1")
	if result != callback.ResultSuccess && result != callback.ResultProcessing {
		t.Fatalf("answer %s", result)
	}
	delivered(ev1, d1.Fingerprint)

	// The first upload of the next event fails: the server answers 000004,
	// then dies before its retry.
	if err := sb.FailUploads(1); err != nil {
		t.Fatal(err)
	}
	d2 := servertest.NewDevice(2)
	ev2, result := ask(d2, "inst-e2e-2")
	if result != callback.ResultProcessing {
		t.Fatalf("answer %s with the upload failing, want 000004", result)
	}
	_ = srv.cmd.Process.Kill()
	<-srv.done
	if _, err := sb.Delivered(ev2); err == nil {
		t.Fatal("delivered before the restart")
	}
	srv2 := startServer(t, bin, dir, mkt, sb, "ISCDESK_CALLBACK_KEY="+sb.CallbackKey())
	delivered(ev2, d2.Fingerprint)
	srv2.stop(t)
	if logs := srv2.stderr.String(); strings.Contains(logs, sb.CallbackKey()) {
		t.Fatal("the callback key is in the log")
	}
}
