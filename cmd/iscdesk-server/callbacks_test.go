package main_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
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
