package offline_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/offline"
)

func key(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A fingerprint as a desktop with two network cards, one disk and a board
// reports it.
const typicalFP = "00:1a:2b:3c:4d:5e,02:42:ac:11:00:02|S4EVNX0R123456K|/ABC1234567890/CN129600A10001/|GenuineIntel-06-9A-03"

func activateRequest(dev ed25519.PrivateKey) offline.Request {
	return offline.Request{
		Kind: offline.KindActivate, Code: "AB12CD34EF56GH78JK90LM12NP34QR56", Fingerprint: typicalFP,
		DeviceKey: dev.Public().(ed25519.PublicKey), Host: "lab-workstation-07", App: "iscdesk", Version: "1.4.0",
		Nonce: "6f1c2a9be03d4471a8c55e0f9d2b7c31", Time: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).Unix(),
	}
}

func TestRequestRoundTrip(t *testing.T) {
	dev := key(t)
	req := activateRequest(dev)
	text, err := offline.SignRequest(dev, req)
	if err != nil {
		t.Fatal(err)
	}
	// A typical request fits a QR code with room to spare.
	t.Logf("typical activation request: %d bytes", len(text))
	if len(text) > offline.QRBytes/2 {
		t.Fatalf("request of %d bytes, want well under a QR code's %d", len(text), offline.QRBytes)
	}
	// Line breaks a mail client adds are ignored.
	wrapped := ""
	for i := 0; i < len(text); i += 76 {
		wrapped += text[i:min(i+76, len(text))] + "\r\n"
	}
	got, tok, err := offline.ParseRequest(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != req.Code || got.Nonce != req.Nonce || !got.At().Equal(req.At()) {
		t.Fatalf("got %+v", got)
	}
	if err := offline.VerifyRequest(tok, got.DeviceKey, got); err != nil {
		t.Fatal(err)
	}
	// Another key did not sign it.
	if err := offline.VerifyRequest(tok, key(t).Public().(ed25519.PublicKey), got); !errors.Is(err, token.ErrSignature) {
		t.Fatalf("other key: %v", err)
	}
}

func TestRequestEdited(t *testing.T) {
	dev := key(t)
	text, _ := offline.SignRequest(dev, activateRequest(dev))
	// Swap the payload for one naming another code, signature kept.
	other := activateRequest(dev)
	other.Code = "ZZ12CD34EF56GH78JK90LM12NP34QR56"
	otherText, _ := offline.SignRequest(dev, other)
	p := strings.Split(text, ".")
	q := strings.Split(otherText, ".")
	forged := p[0] + "." + q[1] + "." + p[2]
	r, tok, err := offline.ParseRequest(forged)
	if err != nil {
		t.Fatal(err)
	}
	if err := offline.VerifyRequest(tok, r.DeviceKey, r); !errors.Is(err, token.ErrSignature) {
		t.Fatalf("edited request verified: %v", err)
	}
}

func TestRequestRefused(t *testing.T) {
	dev := key(t)
	good := activateRequest(dev)
	for name, edit := range map[string]func(*offline.Request){
		"short nonce":          func(r *offline.Request) { r.Nonce = "abc" },
		"no time":              func(r *offline.Request) { r.Time = 0 },
		"unknown kind":         func(r *offline.Request) { r.Kind = "borrow" },
		"no code":              func(r *offline.Request) { r.Code = "" },
		"short key":            func(r *offline.Request) { r.DeviceKey = r.DeviceKey[:5] },
		"activation id":        func(r *offline.Request) { r.ActivationID = "act_1" },
		"deactivate with code": func(r *offline.Request) { r.Kind, r.ActivationID = offline.KindDeactivate, "act_1" },
	} {
		r := good
		edit(&r)
		if _, err := offline.SignRequest(dev, r); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	// An activation signed by a key other than the one it carries.
	if _, err := offline.SignRequest(key(t), good); err == nil {
		t.Error("signed by another key")
	}
	for _, text := range []string{"", "a.b", "a.b.c", strings.Repeat("x", offline.MaxTextBytes+1), "e30.e30.e30"} {
		if _, _, err := offline.ParseRequest(text); err == nil {
			t.Errorf("%.20q parsed", text)
		}
	}
}

func TestAnswer(t *testing.T) {
	vendor := key(t)
	keys := map[string]ed25519.PublicKey{token.KeyID(vendor.Public().(ed25519.PublicKey)): vendor.Public().(ed25519.PublicKey)}
	a := offline.Answer{Kind: offline.KindActivate, Nonce: "6f1c2a9be03d4471a8c55e0f9d2b7c31", ActivationID: "act_1", Token: "x.y.z", Time: 1}
	text, err := offline.SignAnswer(vendor, a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := offline.VerifyAnswer(text+"\n", keys)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Edited: one character of the payload changed.
	p := strings.Split(text, ".")
	b := []byte(p[1])
	b[10] ^= 1
	if _, err := offline.VerifyAnswer(p[0]+"."+string(b)+"."+p[2], keys); !errors.Is(err, offline.ErrNotVendor) {
		t.Fatalf("edited answer: %v", err)
	}
	// Another vendor's.
	other, _ := offline.SignAnswer(key(t), a)
	if _, err := offline.VerifyAnswer(other, keys); !errors.Is(err, offline.ErrNotVendor) {
		t.Fatalf("other vendor: %v", err)
	}
	// A request is not an answer, even signed by the vendor key.
	req := activateRequest(vendor)
	reqText, _ := offline.SignRequest(vendor, req)
	if _, err := offline.VerifyAnswer(reqText, keys); err == nil {
		t.Fatal("a request passed for an answer")
	}
	if _, err := offline.SignAnswer(vendor, offline.Answer{Kind: offline.KindDeactivate, Nonce: a.Nonce, ActivationID: "a", Time: 1, Token: "t"}); err == nil {
		t.Fatal("a deactivation answer with a token")
	}
}

func FuzzParseRequest(f *testing.F) {
	dev := key(f)
	text, _ := offline.SignRequest(dev, activateRequest(dev))
	f.Add(text)
	f.Add("e30.e30.e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		r, tok, err := offline.ParseRequest(text)
		if err != nil {
			return
		}
		if err := r.Check(); err != nil {
			t.Fatalf("parsed a request that fails its check: %v", err)
		}
		if r.Kind == offline.KindActivate {
			// Verifying never panics, whatever was parsed.
			_ = offline.VerifyRequest(tok, r.DeviceKey, r)
		}
	})
}

func FuzzVerifyAnswer(f *testing.F) {
	vendor := key(f)
	pub := vendor.Public().(ed25519.PublicKey)
	keys := map[string]ed25519.PublicKey{token.KeyID(pub): pub}
	text, _ := offline.SignAnswer(vendor, offline.Answer{Kind: offline.KindActivate, Nonce: "6f1c2a9be03d4471a8c55e0f9d2b7c31", ActivationID: "act_1", Token: "x.y.z", Time: 1})
	f.Add(text)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, text string) {
		if e := offline.AnswerEndorsements(text); len(e) > offline.MaxEndorsements {
			t.Fatalf("%d endorsements read", len(e))
		}
		a, err := offline.VerifyAnswer(text, keys)
		if err == nil && (a.ActivationID == "" || a.Time <= 0) {
			t.Fatalf("verified an answer without its fields: %+v", a)
		}
	})
}

func BenchmarkParseVerifyRequest(b *testing.B) {
	dev := key(b)
	text, _ := offline.SignRequest(dev, activateRequest(dev))
	b.ReportAllocs()
	for b.Loop() {
		r, tok, err := offline.ParseRequest(text)
		if err != nil {
			b.Fatal(err)
		}
		if err := offline.VerifyRequest(tok, r.DeviceKey, r); err != nil {
			b.Fatal(err)
		}
	}
}
