package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/iscdesk/iscdesk/server/httpapi"
	"github.com/iscdesk/iscdesk/server/servertest"
	"github.com/iscdesk/iscdesk/server/wire"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/offline"
)

func postOffline(t *testing.T, f *fixture, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(f.url+wire.PathOfflineAnswer, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// The vendor portal's route: a request file in, the answer file out, under
// the rules of the CLI's `activations answer` (one domain call).
func TestOfflineAnswerRoute(t *testing.T) {
	f := start(t, httpapi.Limits{})
	code := f.env.Code(t, 1)
	d := servertest.NewDevice(1)
	req, err := offline.SignRequest(d.Key, offline.Request{
		Kind: offline.KindActivate, Code: code, Fingerprint: d.Fingerprint, DeviceKey: d.Public(),
		Host: d.Host, Nonce: servertest.Nonce(), Time: f.env.Clock.Now().Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(wire.OfflineAnswerRequest{Request: req})
	status, out := postOffline(t, f, string(body))
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, out)
	}
	var ans wire.OfflineAnswer
	if err := json.Unmarshal(out, &ans); err != nil || ans.Kind != offline.KindActivate || ans.ActivationID == "" {
		t.Fatalf("%s: %v", out, err)
	}
	pub := f.env.Key.Public()
	if a, err := offline.VerifyAnswer(ans.Answer, map[string]ed25519.PublicKey{token.KeyID(pub): pub}); err != nil || a.ActivationID != ans.ActivationID {
		t.Fatalf("answer %+v, %v", a, err)
	}
	// Replayed: 403 with kind permission.
	for _, tc := range []struct {
		body   string
		status int
		kind   string
	}{
		{string(body), http.StatusForbidden, "permission"},
		{`{"request":"nonsense"}`, http.StatusBadRequest, "invalid"},
		{`{}`, http.StatusBadRequest, "invalid"},
		{`[1]`, http.StatusBadRequest, "invalid"},
	} {
		status, out := postOffline(t, f, tc.body)
		var eb wire.ErrorBody
		if status != tc.status || json.Unmarshal(out, &eb) != nil || eb.Error.Kind != tc.kind {
			t.Errorf("%.30s: %d %s, want %d %s", tc.body, status, out, tc.status, tc.kind)
		}
	}
}

func FuzzParseOfflineAnswer(f *testing.F) {
	f.Add([]byte(`{"request":"a.b.c"}`))
	f.Add([]byte(`{"request":""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := httpapi.ParseOfflineAnswer(body); err == nil && (r == "" || !json.Valid(body)) {
			t.Fatalf("accepted %q", body)
		}
	})
}
