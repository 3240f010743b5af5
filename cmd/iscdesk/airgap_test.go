package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token/offline"
)

// TestAirGapped runs the binary on a desktop with no route to the license
// server (its configured URL refuses connections): activation by a file
// round trip, offline validation, an edited answer and another machine's
// refused, deactivation by file freeing the seat when the server answers.
func TestAirGapped(t *testing.T) {
	bin := buildBinary(t)
	srv := vendortest.Start(t, vendortest.Options{})
	code := srv.Code(t, 1)
	env, _ := testutil.ProcessEnv(t)
	// Nothing listens on port 9 of loopback: no route to the server.
	env = testutil.With(env, "ISCDESK_SERVER=http://127.0.0.1:9", "ISCDESK_SERVER_KEY="+srv.Key)
	dir := t.TempDir()
	reqPath, ansPath := filepath.Join(dir, "request.txt"), filepath.Join(dir, "answer.txt")
	run := func(name string, want int, args ...string) testutil.Result {
		t.Helper()
		r := testutil.Run(t, bin, env, args...)
		if r.Code != want {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.Code, want, r.Stdout, r.Stderr)
		}
		return r
	}
	answer := func(path string) string {
		t.Helper()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := srv.Service.AnswerOffline(context.Background(), string(raw))
		if err != nil {
			t.Fatal(err)
		}
		return ans.Text
	}

	// Inside `make test` every test shares the session's real keyring: start
	// from a machine with nothing cached, as the test means (a record left
	// by another test, trusting another vendor key, would be kept while the
	// request is pending, as a user's current activation is).
	testutil.Run(t, bin, env, "forget")

	run("online activation", exitcode.Unreachable, "activate", code)
	r := run("request", 0, "activate", "--request-file", reqPath, "--json", code)
	var req requestJSON
	if err := json.Unmarshal([]byte(r.Stdout), &req); err != nil || req.Kind != "activate" || !req.FitsQR || req.Bytes == 0 || req.RequestFile != reqPath {
		t.Fatalf("request JSON %s: %v", r.Stdout, err)
	}
	t.Logf("activation request of this machine: %d bytes", req.Bytes)
	if r := run("status while pending", exitcode.NotUsable, "status", "--offline"); !strings.Contains(r.Stderr, "--response-file") {
		t.Errorf("pending status: %s", r.Stderr)
	}

	text := answer(reqPath)
	// Edited on the way back.
	p := strings.Split(text, ".")
	b := []byte(p[1])
	b[len(b)/3] ^= 2
	if err := os.WriteFile(ansPath, []byte(p[0]+"."+string(b)+"."+p[2]), 0o600); err != nil {
		t.Fatal(err)
	}
	run("edited answer", exitcode.NotUsable, "activate", "--response-file", ansPath)
	// Another machine's answer.
	d := servertest.NewDevice(7)
	other, err := offline.SignRequest(d.Key, offline.Request{
		Kind: offline.KindActivate, Code: srv.Code(t, 1), Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
		Host: d.Host, Nonce: servertest.Nonce(), Time: time.Now().Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	otherAns, err := srv.Service.AnswerOffline(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ansPath, []byte(otherAns.Text), 0o600); err != nil {
		t.Fatal(err)
	}
	run("another machine's answer", exitcode.NotUsable, "activate", "--response-file", ansPath)
	// The right one, from standard input.
	cmd := exec.Command(bin, "activate", "--response-file", "-", "--json")
	cmd.Env, cmd.Stdin = env, strings.NewReader(text+"\n")
	out, err := cmd.Output()
	var st licenseJSON
	if err != nil || json.Unmarshal(out, &st) != nil || !st.Valid || st.License != code {
		t.Fatalf("install: %v %s", err, out)
	}
	// Valid offline, and online it falls back to the cache.
	run("status --offline", 0, "status", "--offline")
	r = run("status", 0, "status", "--json")
	if json.Unmarshal([]byte(r.Stdout), &st) != nil || !st.Valid || st.Source != "cache" {
		t.Fatalf("status: %s", r.Stdout)
	}
	// The request again: refused by the server, nothing changes.
	raw, _ := os.ReadFile(reqPath)
	if _, err := srv.Service.AnswerOffline(context.Background(), string(raw)); err == nil {
		t.Fatal("request answered twice")
	}

	// Deactivation by file.
	deactPath := filepath.Join(dir, "deactivate.txt")
	r = run("deactivate by file", 0, "deactivate", "--request-file", deactPath, "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &req); err != nil || req.Kind != "deactivate" || req.ActivationID == "" {
		t.Fatalf("deactivation JSON %s: %v", r.Stdout, err)
	}
	run("status after deactivation", exitcode.NotUsable, "status", "--offline")
	if info, err := srv.Service.CodeInfo(context.Background(), code); err != nil || info.Bound() != 1 {
		t.Fatalf("seat freed before the server answered: %v", err)
	}
	answer(deactPath)
	if info, err := srv.Service.CodeInfo(context.Background(), code); err != nil || info.Bound() != 0 {
		t.Fatalf("seat still bound after the deactivation answer: %v", err)
	}
	run("deactivate with nothing cached", exitcode.NotUsable, "deactivate", "--request-file", deactPath)
	run("both files", exitcode.Usage, "activate", "--request-file", reqPath, "--response-file", ansPath, code)
}
