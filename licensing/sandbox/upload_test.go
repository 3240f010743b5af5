package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/marketplace/wire"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// part is one multipart part of an upload body.
type part struct{ name, body string }

// multipartBody writes parts as multipart/form-data.
func multipartBody(t testing.TB, parts ...part) (contentType string, body []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.name == callback.PartFile {
			h.Set("Content-Disposition", `form-data; name="file"; filename="license.jwt"`)
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"`)
			h.Set("Content-Type", "application/json")
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p.body))
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func fileReq(t testing.TB, r callback.FileRequest) part {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return part{callback.PartRequest, string(b)}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fileUpload is a well-formed FILE upload of content.
func fileUpload(t testing.TB, content string) []part {
	return []part{fileReq(t, callback.FileRequest{Type: callback.TypeFile, FileName: "license.jwt", SHA256: sum(content)}),
		{callback.PartFile, content}}
}

func (e *env) upload(event string, parts ...part) reply {
	e.t.Helper()
	ct, body := multipartBody(e.t, parts...)
	return e.send(call{path: callback.UploadPath(event), contentType: ct, body: string(body)})
}

// asyncEvent queues a getLicenseAsync so that uploads for its event are
// accepted.
func (e *env) asyncEvent() string {
	e.t.Helper()
	_, ev, err := e.srv.RequestLicense(sandbox.AsyncLicense{InstanceID: "inst-1", Fingerprint: "a|b|c|d"})
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func wantUpload(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.env.ErrorCode != code {
		t.Fatalf("answer %d %s (%s), want %d %s", r.status, r.env.ErrorCode, r.env.ErrorMsg, status, code)
	}
}

func TestUploadAccepted(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	ev := e.asyncEvent()
	license := "eyJhbGciOiJFZERTQSJ9.e30.sig"
	wantUpload(t, e.upload(ev, fileReq(t, callback.FileRequest{Type: callback.TypeCharacters, Characters: license})), 200, callback.UploadOK)
	got, err := e.srv.Delivered(ev)
	if err != nil || string(got) != license {
		t.Fatalf("Delivered = %q, %v", got, err)
	}
	// FILE, upper-case hash; the last accepted upload is what Delivered returns.
	big := strings.Repeat("x", 3000)
	parts := fileUpload(t, big)
	parts[0] = fileReq(t, callback.FileRequest{Type: callback.TypeFile, FileName: "license.jwt", SHA256: strings.ToUpper(sum(big))})
	wantUpload(t, e.upload(ev, parts...), 200, callback.UploadOK)
	if got, _ := e.srv.Delivered(ev); string(got) != big {
		t.Fatalf("Delivered after FILE: %d bytes", len(got))
	}
	// CHARACTERS with the same bytes in the file part too.
	wantUpload(t, e.upload(ev, fileReq(t, callback.FileRequest{Type: callback.TypeCharacters, Characters: "abc"}),
		part{callback.PartFile, "abc"}), 200, callback.UploadOK)
	wantUpload(t, e.upload(ev, fileReq(t, callback.FileRequest{Type: callback.TypeCharacters, Characters: "abc"})), 200, callback.UploadOK)
	ups := e.srv.Uploads()
	if len(ups) != 4 || ups[1].Type != callback.TypeFile || ups[1].SHA256 != sum(big) || ups[1].FileName != "license.jwt" ||
		!ups[0].Received.Equal(t0) || !ups[2].Accepted() {
		t.Fatalf("uploads %+v", ups)
	}
	// Another license for the same event is flagged; the same one again is not.
	if ups[0].Changed || !ups[1].Changed || !ups[2].Changed || ups[3].Changed {
		t.Fatalf("changed flags: %v %v %v %v", ups[0].Changed, ups[1].Changed, ups[2].Changed, ups[3].Changed)
	}
	// The state file keeps them.
	srv, err := sandbox.New(sandbox.Config{StatePath: e.path, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Delivered(ev); string(got) != "abc" {
		t.Fatalf("after restart: %q", got)
	}
}

// Every refusal answers its code and delivers nothing.
func TestUploadRefused(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	ev := e.asyncEvent()
	chars := func(s string) []part {
		return []part{fileReq(t, callback.FileRequest{Type: callback.TypeCharacters, Characters: s})}
	}
	good := fileUpload(t, "LICENSE")
	for _, c := range []struct {
		name   string
		event  string
		parts  []part
		status int
		code   string
	}{
		{"unknown event", "ev-unknown", good, 400, callback.UploadResource},
		{"characters too long", ev, chars(strings.Repeat("é", 1025)), 400, callback.UploadInvalid},
		{"characters empty", ev, chars(""), 400, callback.UploadInvalid},
		{"sha256 wrong", ev, []part{fileReq(t, callback.FileRequest{Type: callback.TypeFile, FileName: "l", SHA256: sum("other")}), {callback.PartFile, "LICENSE"}}, 400, callback.UploadInvalid},
		{"sha256 missing", ev, []part{fileReq(t, callback.FileRequest{Type: callback.TypeFile, FileName: "l"}), {callback.PartFile, "LICENSE"}}, 400, callback.UploadInvalid},
		{"file missing", ev, good[:1], 400, callback.UploadInvalid},
		{"request missing", ev, good[1:], 400, callback.UploadInvalid},
		{"file name a path", ev, []part{fileReq(t, callback.FileRequest{Type: callback.TypeFile, FileName: "../l", SHA256: sum("LICENSE")}), {callback.PartFile, "LICENSE"}}, 400, callback.UploadInvalid},
		{"unknown type", ev, []part{fileReq(t, callback.FileRequest{Type: "TEXT", Characters: "x"})}, 400, callback.UploadInvalid},
		{"extra part", ev, append(slices.Clone(good), part{"other", "x"}), 400, callback.UploadInvalid},
		{"part twice", ev, append(slices.Clone(good), good[1]), 400, callback.UploadInvalid},
		{"unknown field", ev, []part{{callback.PartRequest, `{"type":"CHARACTERS","characters":"x","fileName":"y"}`}}, 400, callback.UploadInvalid},
		{"trailing data", ev, []part{{callback.PartRequest, `{"type":"CHARACTERS","characters":"x"} {}`}}, 400, callback.UploadInvalid},
		{"characters and file differ", ev, append(chars("x"), part{callback.PartFile, "y"}), 400, callback.UploadInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantUpload(t, e.upload(c.event, c.parts...), c.status, c.code)
		})
	}
	// The gateway's checks come first.
	ct, body := multipartBody(t, good...)
	path := callback.UploadPath(ev)
	bad := aksk.Credentials{AK: e.srv.Credentials().AK, SK: "wrong"}
	wantUpload(t, e.send(call{path: path, contentType: ct, body: string(body), cred: &bad}), 401, wire.GatewayBadSignature)
	wantUpload(t, e.send(call{path: path, contentType: ct, body: string(body), unsigned: true}), 401, wire.GatewayBadSignature)
	wantUpload(t, e.send(call{path: path, contentType: ct, body: string(body), skew: -16 * time.Minute}), 401, wire.GatewayBadSignature)
	// The body changed after signing.
	wantUpload(t, e.send(call{path: path, contentType: ct, body: string(body), tamper: func(r *http.Request) {
		changed := bytes.Replace(body, []byte("LICENSE"), []byte("LICENSF"), 1)
		r.Body = readCloser(changed)
	}}), 401, wire.GatewayBadSignature)
	wantUpload(t, e.send(call{path: path, contentType: "application/json", body: "{}"}), 400, callback.UploadInvalid)
	wantUpload(t, e.send(call{path: path, method: http.MethodGet, unsigned: true}), 405, wire.CodeMethodNotSupported)
	if _, err := e.srv.Delivered(ev); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("something was delivered: %v", err)
	}
	// Refusals after the signature check are recorded with their reason;
	// the gateway's are not.
	for _, u := range e.srv.Uploads() {
		if u.Accepted() || u.Reason == "" {
			t.Fatalf("upload %+v", u)
		}
	}
}

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }

func readCloser(b []byte) bodyReader { return bodyReader{bytes.NewReader(b)} }

// FailUploads answers the next N acceptable uploads 500 CBC.0999, then
// accepts again; refused uploads do not use the count up.
func TestFailUploads(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	ev := e.asyncEvent()
	if err := e.srv.FailUploads(-1); errs.KindOf(err) != errs.Invalid {
		t.Fatal(err)
	}
	if err := e.srv.FailUploads(2); err != nil {
		t.Fatal(err)
	}
	wantUpload(t, e.upload("ev-unknown", fileUpload(t, "L")...), 400, callback.UploadResource)
	for range 2 {
		wantUpload(t, e.upload(ev, fileUpload(t, "L")...), 500, callback.UploadInternal)
		if !callback.UploadRetryable(callback.UploadInternal) {
			t.Fatal("CBC.0999 not retryable")
		}
	}
	if _, err := e.srv.Delivered(ev); err == nil {
		t.Fatal("delivered during the fault")
	}
	wantUpload(t, e.upload(ev, fileUpload(t, "L")...), 200, callback.UploadOK)
	if got, err := e.srv.Delivered(ev); err != nil || string(got) != "L" {
		t.Fatal(got, err)
	}
}

// The admin API: token required; the calls drive the Go API and wait for
// the vendor's answer.
func TestAdmin(t *testing.T) {
	e, v := newCallbackEnv(t, sandbox.Retry{}, callback.ResultProcessing)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.RunCallbacks(ctx) }()
	defer func() { cancel(); <-done }()

	a, err := sandbox.AdminFor(e.path, e.url)
	if err != nil {
		t.Fatal(err)
	}
	wrong := *a
	wrong.Token = "x"
	if err := wrong.Call(ctx, "callbacks", struct{}{}, nil); errs.KindOf(err) != errs.Credentials {
		t.Fatalf("wrong token: %v", err)
	}
	var sent sandbox.AdminSent
	code := e.code(sandbox.StateActive, 0)
	if err := a.Call(ctx, "release", sandbox.AdminRelease{License: code}, &sent); err != nil {
		t.Fatal(err)
	}
	// 000004 is not an answer to a release: tried once, pending.
	if sent.Callback.Activity != callback.ActivityRelease || sent.Callback.Attempts != 1 || sent.Callback.Result != callback.ResultProcessing {
		t.Fatalf("release: %+v", sent.Callback)
	}
	if err := a.Call(ctx, "license", sandbox.AdminLicense{InstanceID: "inst-1", EventID: "ev-9", Fingerprint: "a|b|c|d",
		ExpireTime: "20300101000000", TestFlag: "1"}, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Callback.EventID != "ev-9" || sent.Callback.State != sandbox.CallbackDelivered {
		t.Fatalf("license: %+v", sent.Callback)
	}
	for _, c := range []struct {
		op   string
		body any
		kind errs.Kind
	}{
		{"refresh", sandbox.AdminRefresh{License: code, ExpireTime: "2030-01-01"}, errs.Invalid},
		{"refresh", sandbox.AdminRefresh{License: "PL000000000000000000000000000000", ExpireTime: "20300101000000"}, errs.NotFound},
		{"release", map[string]string{"licence": code}, errs.Invalid},
		{"fail-uploads", sandbox.AdminCount{Count: -1}, errs.Invalid},
		{"vendor-url", sandbox.AdminURL{URL: "ftp://x"}, errs.Invalid},
		{"nothing", struct{}{}, errs.NotExist},
		{"refresh", sandbox.AdminRefresh{License: e.code(sandbox.StateReleased, 0), ExpireTime: "20300101000000"}, errs.Released},
	} {
		if err := a.Call(ctx, c.op, c.body, nil); errs.KindOf(err) != c.kind {
			t.Errorf("%s %+v: %v, want %v", c.op, c.body, err, c.kind)
		}
	}
	if err := a.Call(ctx, "fail-uploads", sandbox.AdminCount{Count: 1}, nil); err != nil {
		t.Fatal(err)
	}
	wantUpload(t, e.upload("ev-9", fileUpload(t, "L")...), 500, callback.UploadInternal)
	wantUpload(t, e.upload("ev-9", fileUpload(t, "L")...), 200, callback.UploadOK)
	var ups []sandbox.Upload
	if err := a.Call(ctx, "uploads", sandbox.AdminEvent{EventID: "ev-9"}, &ups); err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 || string(ups[1].Content) != "L" {
		t.Fatalf("uploads %+v", ups)
	}
	var cbs []sandbox.Callback
	if err := a.Call(ctx, "callbacks", struct{}{}, &cbs); err != nil || len(cbs) != 2 {
		t.Fatal(cbs, err)
	}
	if err := a.Call(ctx, "release", sandbox.AdminRelease{License: e.code(sandbox.StateReady, 0), At: "20300101000000"}, nil); err != nil {
		t.Fatal(err)
	}
	v.received()
	// An unreachable sandbox is Unavailable.
	gone := sandbox.Admin{URL: "http://127.0.0.1:1", Token: a.Token}
	if err := gone.Call(ctx, "callbacks", struct{}{}, nil); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("unreachable: %v", err)
	}
}

// BenchmarkUpload measures one signed FILE upload of a 700-byte license
// over loopback HTTP: verified, parsed, recorded (with the state file: one
// atomic write, fsync included; in memory: none).
func BenchmarkUpload(b *testing.B) {
	eachStore(b, func(b *testing.B, e *env) {
		ev := e.asyncEvent()
		ct, body := multipartBody(b, fileUpload(b, strings.Repeat("x", 700))...)
		for b.Loop() {
			r := e.send(call{path: callback.UploadPath(ev), contentType: ct, body: string(body)})
			if r.env.ErrorCode != callback.UploadOK {
				b.Fatal(r.env.ErrorCode)
			}
		}
	})
}
