package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/aksk"
	"github.com/iscdesk/iscdesk/licensing/marketplace/callback"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
)

// The admin actions drive a running sandbox: callbacks reach a vendor
// endpoint that verifies them, uploads are listed and their content
// printed, and the exit codes follow the contract.
func TestSandboxActions(t *testing.T) {
	state := filepath.Join(t.TempDir(), "sandbox.json")
	srv, err := sandbox.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		answer  = callback.ResultSuccess
		got     []callback.Event
		refused int
	)
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		code := answer
		if _, err := callback.Verify(srv.CallbackKey(), r.URL.Query(), body, time.Now()); err != nil {
			refused++
			code = callback.ResultAuthFailed
		} else if ev, err := callback.Parse(body, ""); err == nil {
			got = append(got, ev)
		}
		json.NewEncoder(w).Encode(callback.Answer{ResultCode: code, ResultMsg: "m"})
	}))
	defer vendor.Close()
	ctx, cancel := context.WithCancel(context.Background())
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(u string) { urlc <- u }) }()
	defer func() { cancel(); <-done }()
	base := <-urlc
	addr := strings.TrimPrefix(base, "http://")
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, nil, "", append([]string{"sandbox", "--addr", addr, "--state", state}, args...)...)
	}

	if code, out, errOut := cli("vendor-url", vendor.URL+"/cb"); code != 0 {
		t.Fatalf("vendor-url: %d %q %q", code, out, errOut)
	}
	var active string
	for _, c := range srv.Codes() {
		if c.State == sandbox.StateActive {
			active = c.Code
		}
	}
	if code, out, errOut := cli("release", active); code != 0 || !strings.Contains(out, "delivered after 1 try") {
		t.Fatalf("release: %d %q %q", code, out, errOut)
	}
	code, out, errOut := cli("license", "inst-1", "--fingerprint", "a|b|c|d", "--event", "ev-1", "--test-flag", "1", "--json")
	var c sandbox.Callback
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.EventID != "ev-1" || c.State != sandbox.CallbackDelivered {
		t.Fatalf("license: %d %q %q", code, out, errOut)
	}
	mu.Lock()
	answer = callback.ResultNeedDeviceInfo
	mu.Unlock()
	if code, out, errOut := cli("license", "inst-1"); code != exitcode.Failed || !strings.Contains(out, "refused") || !strings.Contains(errOut, "000903") {
		t.Fatalf("license refused: %d %q %q", code, out, errOut)
	}
	mu.Lock()
	if refused != 0 || len(got) != 3 || got[0].Activity != callback.ActivityRelease || got[1].DeviceFingerprint != "a|b|c|d" || got[1].TestFlag != "1" {
		t.Fatalf("vendor: %d refused, got %+v", refused, got)
	}
	mu.Unlock()

	// An upload, failed once by fault injection, then accepted.
	if code, _, errOut := cli("fail-uploads", "1"); code != 0 {
		t.Fatal(errOut)
	}
	for _, want := range []string{callback.UploadInternal, callback.UploadOK} {
		if code := uploadTo(t, base, srv.Credentials(), "ev-1", "LICENSE-TOKEN"); code != want {
			t.Fatalf("upload answered %s, want %s", code, want)
		}
	}
	if code, out, _ := cli("delivered", "ev-1"); code != 0 || out != "LICENSE-TOKEN\n" {
		t.Fatalf("delivered: %d %q", code, out)
	}
	if code, out, _ := cli("uploads", "--event", "ev-1"); code != 0 || !strings.Contains(out, "CBC.0999 fault injected") || !strings.Contains(out, "CBC.0000") {
		t.Fatalf("uploads: %d %q", code, out)
	}
	var list []sandbox.Callback
	if code, out, _ := cli("callbacks", "--json"); code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 3 {
		t.Fatalf("callbacks: %d %q", code, out)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"delivered", "ev-none"}, exitcode.Refused},
		{[]string{"release", "PL000000000000000000000000000000"}, exitcode.NotUsable},
		{[]string{"refresh", active}, exitcode.Usage},
		{[]string{"refresh", active, "--expire", "2030"}, exitcode.Usage},
		{[]string{"release", active, "--fingerprint", "x"}, exitcode.Usage},
		{[]string{"renew", active, "maybe"}, exitcode.Usage},
		{[]string{"fail-uploads", "-1"}, exitcode.Usage},
		{[]string{"nosuch"}, exitcode.Usage},
		{[]string{"callbacks", "extra"}, exitcode.Usage},
	} {
		if code, _, errOut := cli(c.args...); code != c.code {
			t.Errorf("%v: exit %d (%s), want %d", c.args, code, errOut, c.code)
		}
	}
	// Another state file's token is refused; a sandbox that is not running
	// is unreachable.
	other := filepath.Join(t.TempDir(), "other.json")
	if _, err := sandbox.Open(other); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, nil, "", "sandbox", "--addr", addr, "--state", other, "callbacks"); code != exitcode.Credentials {
		t.Errorf("other token: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, nil, "", "sandbox", "--addr", "127.0.0.1:1", "--state", state, "callbacks"); code != exitcode.Unreachable {
		t.Errorf("not running: %d %s", code, errOut)
	}
	// The admin token is never printed.
	if strings.Contains(out, "admin") {
		t.Errorf("output mentions the admin token")
	}
}

// uploadTo sends a CHARACTERS upload for event, signed with cred, and
// returns the answer's error_code.
func uploadTo(t *testing.T, base string, cred aksk.Credentials, event, content string) string {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	req, _ := json.Marshal(callback.FileRequest{Type: callback.TypeCharacters, Characters: content})
	w.WriteField(callback.PartRequest, string(req))
	w.Close()
	r, err := http.NewRequest(http.MethodPost, base+callback.UploadPath(event), bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", w.FormDataContentType())
	if err := aksk.Sign(r, b.Bytes(), cred, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a callback.UploadAnswer
	json.NewDecoder(resp.Body).Decode(&a)
	return a.ErrorCode
}

// The built binary: the sandbox prints its callback key, and an action run
// as another process releases a code on it, the vendor receiving the
// signed callback.
func TestSandboxProcess(t *testing.T) {
	bin := buildBinary(t)
	state := filepath.Join(t.TempDir(), "sandbox.json")
	sb := testutil.StartSandbox(t, bin, state)
	if len(sb.CallbackKey) < 32 {
		t.Fatalf("callback_key: %q", sb.CallbackKey)
	}
	var (
		mu  sync.Mutex
		got []callback.Event
	)
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code := callback.ResultAuthFailed
		if _, err := callback.Verify(sb.CallbackKey, r.URL.Query(), body, time.Now()); err == nil {
			if ev, err := callback.Parse(body, ""); err == nil {
				mu.Lock()
				got = append(got, ev)
				mu.Unlock()
				code = callback.ResultSuccess
			}
		}
		json.NewEncoder(w).Encode(callback.Answer{ResultCode: code})
	}))
	defer vendor.Close()
	env, _ := testutil.ProcessEnv(t)
	addr := strings.TrimPrefix(sb.URL, "http://")
	run := func(args ...string) testutil.Result {
		return testutil.Run(t, bin, env, append([]string{"sandbox", "--addr", addr, "--state", state}, args...)...)
	}
	if r := run("vendor-url", vendor.URL); r.Code != 0 {
		t.Fatalf("vendor-url: %+v", r)
	}
	code := sb.Codes["active"][0]
	r := run("release", code, "--json")
	var c sandbox.Callback
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil || c.State != sandbox.CallbackDelivered {
		t.Fatalf("release: %+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Activity != callback.ActivityRelease || got[0].License != code {
		t.Fatalf("vendor got %+v", got)
	}
}
