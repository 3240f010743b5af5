package main_test

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/offline"
)

// `iscdesk-server activations answer` on request files: an activation
// answered with a token the vendor key signed, a replay refused (exit 7),
// a deactivation freeing the seat only when the activation's key signed it.
func TestActivationsAnswer(t *testing.T) {
	bin := binary(t)
	sb, mkt := marketplace(t)
	dir, vendorKey := initDir(t, bin)
	editConfig(t, dir, map[string]any{"marketplace": mkt})
	if r := testutil.Run(t, bin, nil, "migrate", "--dir", dir); r.Code != 0 {
		t.Fatalf("migrate: %s", r.Stderr)
	}
	cred := sb.Credentials()
	env := []string{"ISCDESK_AK=" + cred.AK, "ISCDESK_SK=" + cred.SK, "PATH=" + os.Getenv("PATH")}
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := servertest.NewDevice(1)
	req, err := offline.SignRequest(d.Key, offline.Request{
		Kind: offline.KindActivate, Code: code, Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
		Host: d.Host, Nonce: servertest.Nonce(), Time: time.Now().Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	reqPath, ansPath := write("request.txt", req), filepath.Join(files, "answer.txt")

	r := testutil.Run(t, bin, env, "activations", "answer", reqPath, "-o", ansPath, "--json", "--dir", dir)
	var out struct {
		Kind         string
		ActivationID string `json:"activation_id"`
		Answer       string
		AnswerFile   string `json:"answer_file"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &out) != nil || out.AnswerFile != ansPath || out.Kind != "activate" || out.ActivationID == "" {
		t.Fatalf("answer: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	pub, err := token.ParsePublicKey(vendorKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]ed25519.PublicKey{token.KeyID(pub): pub}
	raw, err := os.ReadFile(ansPath)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := offline.VerifyAnswer(string(raw), keys)
	if err != nil || ans.Kind != offline.KindActivate || ans.Token == "" {
		t.Fatalf("answer file: %+v, %v", ans, err)
	}
	if strings.Contains(r.Stdout+r.Stderr, cred.SK) || strings.Contains(r.Stdout+r.Stderr, code) {
		t.Fatal("a secret or the whole code in the output")
	}

	check := func(name string, want int, args ...string) testutil.Result {
		t.Helper()
		r := testutil.Run(t, bin, env, append(append([]string{"activations", "answer"}, args...), "--dir", dir)...)
		if r.Code != want {
			t.Fatalf("%s: exit %d, want %d\n%s%s", name, r.Code, want, r.Stdout, r.Stderr)
		}
		return r
	}
	check("replayed", exitcode.Refused, reqPath)
	check("no such file", exitcode.Usage, filepath.Join(files, "nope"))
	check("not a request", exitcode.Usage, write("junk.txt", "hello"))

	deact := func(signer *servertest.Device) string {
		text, err := offline.SignRequest(signer.Key, offline.Request{
			Kind: offline.KindDeactivate, ActivationID: ans.ActivationID, Host: d.Host, Nonce: servertest.Nonce(), Time: time.Now().Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return write("deactivate-"+signer.Host+".txt", text)
	}
	check("deactivation signed by another key", exitcode.Refused, deact(servertest.NewDevice(2)))
	// Without -o the answer goes to standard output.
	r = check("deactivation", 0, deact(d))
	if a, err := offline.VerifyAnswer(r.Stdout, keys); err != nil || a.Kind != offline.KindDeactivate || a.ActivationID != ans.ActivationID {
		t.Fatalf("deactivation answer on stdout %q: %v", r.Stdout, err)
	}
	r = testutil.Run(t, bin, nil, "activations", "show", ans.ActivationID, "--dir", dir, "--json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"state": "deactivated"`) {
		t.Fatalf("after the deactivation: %s%s", r.Stdout, r.Stderr)
	}
}
