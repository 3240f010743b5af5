package activation_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const fp = "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"

func key(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func claims(device ed25519.PublicKey) activation.Claims {
	return activation.Claims{
		Issuer: "iscdesk-server", ActivationID: "act-1", Product: "P1", CodeHash: activation.CodeHash("PLCODE"),
		Fingerprint: fp, DeviceKey: activation.Thumbprint(device), Status: activation.StatusAlive,
		Expires: now.Add(365 * 24 * time.Hour).Unix(), CheckBy: now.Add(7 * 24 * time.Hour).Unix(),
		IssuedAt: now.Unix(), ActivatedAt: now.Unix(),
	}
}

func components(t *testing.T, s string) devinfo.Components {
	t.Helper()
	c, err := devinfo.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyAndBind(t *testing.T) {
	vendor, other, device := key(1), key(2), key(3)
	devPub := device.Public().(ed25519.PublicKey)
	tok, err := activation.Sign(vendor, claims(devPub))
	if err != nil {
		t.Fatal(err)
	}
	pinned := activation.Pinned(vendor.Public().(ed25519.PublicKey))
	c, err := activation.Verify(tok, pinned, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.ActivationID != "act-1" || c.Fingerprint != fp {
		t.Fatalf("claims %+v", c)
	}
	if _, err := c.Bound(components(t, fp), devPub); err != nil {
		t.Fatalf("bound: %v", err)
	}
	// One part replaced: still this machine.
	if _, err := c.Bound(components(t, "04:7C:16:5E:E3:5D|NEWDISK|PF0ABC12|BFEBFBFF00090672"), devPub); err != nil {
		t.Fatalf("one part replaced: %v", err)
	}

	otherTok, _ := activation.Sign(other, claims(devPub))
	parts := strings.Split(tok, ".")
	edited := claims(devPub)
	edited.Expires += 1000
	editedTok, _ := activation.Sign(other, edited)
	tampered := parts[0] + "." + strings.Split(editedTok, ".")[1] + "." + parts[2]
	expiredC := claims(devPub)
	expiredC.Expires = now.Add(-time.Second).Unix()
	expiredTok, _ := activation.Sign(vendor, expiredC)
	graceC := claims(devPub)
	graceC.CheckBy = now.Unix()
	graceTok, _ := activation.Sign(vendor, graceC)
	futureC := claims(devPub)
	futureC.IssuedAt = now.Add(time.Hour).Unix()
	futureTok, _ := activation.Sign(vendor, futureC)
	revokedC := claims(devPub)
	revokedC.Status = "REVOKED"
	revokedTok, _ := activation.Sign(vendor, revokedC)
	deviceLicense, _ := token.Sign(vendor, token.Claims{License: "PLCODE", DevInfo: fp, Expires: now.Add(time.Hour).Unix()})

	for _, tc := range []struct {
		name string
		tok  string
		want error
	}{
		{"edited", tampered, token.ErrSignature},
		{"other key", otherTok, token.ErrUnknownKey},
		{"license expired", expiredTok, activation.ErrExpired},
		{"check_by passed", graceTok, activation.ErrCheckBy},
		{"issued in the future", futureTok, activation.ErrNotYetValid},
		{"not alive", revokedTok, activation.ErrNotUsable},
		{"device license is no activation token", deviceLicense, token.ErrMalformed},
		{"garbage", "a.b.c", token.ErrMalformed},
	} {
		if _, err := activation.Verify(tc.tok, pinned, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// An activation token is no device license either.
	if _, err := token.Verify(tok, vendor.Public().(ed25519.PublicKey), now); !errors.Is(err, token.ErrMalformed) {
		t.Errorf("token.Verify of an activation token: %v", err)
	}
	// Copied to another machine, or presented with another device key.
	if _, err := c.Bound(components(t, "AA:BB:CC:DD:EE:FF|OTHERDISK|OTHERBOARD|BFEBFBFF00090672"), devPub); !errors.Is(err, activation.ErrWrongMachine) {
		t.Errorf("other machine: %v", err)
	}
	if _, err := c.Bound(components(t, fp), key(9).Public().(ed25519.PublicKey)); !errors.Is(err, activation.ErrDeviceKey) {
		t.Errorf("other device key: %v", err)
	}
}

// A fingerprint with a single unit part (a VM's MAC|||CPU) may bind the OS
// machine id too (mid).
func TestMachineID(t *testing.T) {
	vendor, device := key(1), key(3)
	devPub := device.Public().(ed25519.PublicKey)
	single := "04:7C:16:5E:E3:5D|||BFEBFBFF00090672"
	mid := strings.Repeat("ab", 32)
	c := claims(devPub)
	c.Fingerprint, c.Machine = single, mid
	tok, _ := activation.Sign(vendor, c)
	got, err := activation.Verify(tok, activation.Pinned(vendor.Public().(ed25519.PublicKey)), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.Bound(components(t, single), devPub); err != nil {
		t.Fatal(err)
	}
	if err := got.BoundMachine(func() (string, error) { return mid, nil }); err != nil {
		t.Fatalf("same machine id: %v", err)
	}
	if err := got.BoundMachine(func() (string, error) { return strings.Repeat("cd", 32), nil }); !errors.Is(err, activation.ErrWrongMachine) {
		t.Fatalf("a clone with another machine id: %v", err)
	}
	if err := got.BoundMachine(func() (string, error) { return "", errors.New("unreadable") }); !errors.Is(err, activation.ErrWrongMachine) {
		t.Fatalf("machine id unreadable: %v", err)
	}
	c.Machine = ""
	if err := c.BoundMachine(func() (string, error) { t.Fatal("asked"); return "", nil }); err != nil {
		t.Fatalf("no mid: %v", err)
	}
}

func TestRotationOverlap(t *testing.T) {
	old, next := key(1), key(2)
	oldPub, nextPub := old.Public().(ed25519.PublicKey), next.Public().(ed25519.PublicKey)
	e, err := activation.Endorse(old, nextPub, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := activation.VerifyEndorsement(e, activation.Pinned(oldPub))
	if err != nil || !got.Equal(nextPub) {
		t.Fatalf("endorsement: %v", err)
	}
	if _, err := activation.VerifyEndorsement(e, activation.Pinned(nextPub)); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("endorsement by an untrusted key: %v", err)
	}
	// Both keys trusted during the overlap: tokens of either verify.
	both := activation.Pinned(oldPub, got)
	for _, k := range []ed25519.PrivateKey{old, next} {
		tok, _ := activation.Sign(k, claims(key(3).Public().(ed25519.PublicKey)))
		if _, err := activation.Verify(tok, both, now); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHashes(t *testing.T) {
	if h := activation.CodeHash("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatal(h)
	}
	pub := key(3).Public().(ed25519.PublicKey)
	if tp := activation.Thumbprint(pub); len(tp) != 43 || strings.ContainsAny(tp, "+/=") {
		t.Fatal(tp)
	}
	if _, err := base64.RawURLEncoding.DecodeString(token.KeyID(pub)); err != nil {
		t.Fatal(err)
	}
}

func FuzzVerify(f *testing.F) {
	vendor := key(1)
	tok, _ := activation.Sign(vendor, claims(key(3).Public().(ed25519.PublicKey)))
	f.Add(tok)
	f.Add("e30.e30.AAAA")
	pinned := activation.Pinned(vendor.Public().(ed25519.PublicKey))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := activation.Verify(s, pinned, now)
		if err == nil && c.ActivationID == "" {
			t.Fatal("accepted without an activation id")
		}
		_, _ = activation.Parse(s)
	})
}
