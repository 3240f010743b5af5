package licensing

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/token"
	"github.com/iscdesk/iscdesk/token/activation"
)

var (
	t0     = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	here   = devinfo.Components{MAC: []string{"02:00:00:00:00:01"}, Disk: []string{"DISK1"}, Board: "BOARD1", CPU: "CPU1"}
	vendor = keyOf(1)
	device = keyOf(3)
	pinned = activation.Pinned(vendor.Public().(ed25519.PublicKey))
)

const grace7 = 7 * 24 * time.Hour

func keyOf(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// claimsAt are the claims of a token the server signed at iat for PL1 on
// this machine: a year's license, a week's grace.
func claimsAt(iat time.Time) activation.Claims {
	return activation.Claims{
		ActivationID: "act-1", Product: "P", OrderID: "O", CodeHash: activation.CodeHash("PL1"),
		Fingerprint: devinfo.Render(here).String(), DeviceKey: activation.Thumbprint(device.Public().(ed25519.PublicKey)),
		Status: activation.StatusAlive, Expires: t0.AddDate(1, 0, 0).Unix(), CheckBy: iat.Add(grace7).Unix(),
		IssuedAt: iat.Unix(), ActivatedAt: t0.Unix(),
	}
}

// recordOf caches c signed by signer, as activating at t0 would.
func recordOf(t testing.TB, c activation.Claims, signer ed25519.PrivateKey) Record {
	t.Helper()
	tok, err := activation.Sign(signer, c)
	if err != nil {
		t.Fatal(err)
	}
	return Record{Version: RecordVersion, License: "PL1", Server: "http://127.0.0.1:1", ActivationID: c.ActivationID,
		Token: tok, DeviceKey: device.Seed(), MaxSeen: t0}
}

func testRecord(t testing.TB) Record { return recordOf(t, claimsAt(t0), vendor) }

// The token rules, each refusal with its own kind and reason.
func TestValidateRules(t *testing.T) {
	newNIC := here
	newNIC.MAC = []string{"02:00:00:00:00:99"}
	newBoardDisk := here
	newBoardDisk.Board, newBoardDisk.Disk = "BOARD2", []string{"DISK2"}
	resign := func(edit func(c *activation.Claims)) func(t *testing.T, r *Record) {
		return func(t *testing.T, r *Record) {
			c := claimsAt(t0)
			edit(&c)
			*r = recordOf(t, c, vendor)
		}
	}
	tests := []struct {
		name    string
		edit    func(t *testing.T, r *Record)
		now     time.Time
		current devinfo.Components
		grace   time.Duration
		kind    errs.Kind // errs.Other means valid
		changed []string
		reason  string
	}{
		{"fresh", nil, t0.Add(time.Hour), here, 0, errs.Other, []string{}, ""},
		{"grace almost over", nil, t0.Add(grace7 - time.Minute), here, 0, errs.Other, []string{}, ""},
		{"check_by passed", nil, t0.Add(grace7), here, 0, errs.GraceExpired, []string{}, "no successful check with the license server"},
		{"the local grace is shorter", nil, t0.Add(25 * time.Hour), here, 24 * time.Hour, errs.GraceExpired, []string{}, "allowed working offline until 2026-11-24T09:00:00Z"},
		{"the local grace is longer: check_by wins", nil, t0.Add(grace7), here, 30 * 24 * time.Hour, errs.GraceExpired, []string{}, "no successful check"},
		{"license expired", resign(func(c *activation.Claims) { c.Expires = t0.Add(time.Hour).Unix() }), t0.Add(2 * time.Hour), here, 0, errs.Expired, []string{}, "expired on 2026-11-23"},
		{"status not ALIVE", resign(func(c *activation.Claims) { c.Status = "FROZEN" }), t0, here, 0, errs.NotActivated, []string{}, "FROZEN"},
		{"clock set back an hour", func(_ *testing.T, r *Record) { r.MaxSeen = t0.Add(2 * time.Hour) }, t0.Add(time.Hour), here, 0, errs.ClockRollback, []string{}, "already seen"},
		{"clock 4 minutes behind is tolerated", func(_ *testing.T, r *Record) { r.MaxSeen = t0.Add(4 * time.Minute) }, t0, here, 0, errs.Other, []string{}, ""},
		{"clock behind the server's signature", resign(func(c *activation.Claims) { c.IssuedAt = t0.Add(time.Hour).Unix() }), t0, here, 0, errs.ClockRollback, []string{}, "signed the activation token at"},
		{"changed NIC tolerated", nil, t0, newNIC, 0, errs.Other, []string{"mac"}, ""},
		{"changed board and disk refused", nil, t0, newBoardDisk, 0, errs.WrongMachine, []string{"disk", "board"}, "another machine"},
		// Tampering: each with its own reason.
		{"edited token", func(t *testing.T, r *Record) {
			c := claimsAt(t0)
			c.Expires = t0.AddDate(50, 0, 0).Unix()
			forged := recordOf(t, c, keyOf(9))
			p, f := strings.Split(r.Token, "."), strings.Split(forged.Token, ".")
			r.Token = p[0] + "." + f[1] + "." + p[2]
		}, t0, here, 0, errs.Tampered, []string{}, "edited"},
		{"signed by another key", func(t *testing.T, r *Record) { *r = recordOf(t, claimsAt(t0), keyOf(9)) }, t0, here, 0, errs.Tampered, []string{}, "server_key"},
		{"garbage", func(_ *testing.T, r *Record) { r.Token = "a.b.c" }, t0, here, 0, errs.Tampered, []string{}, "damaged"},
		{"another device key", func(_ *testing.T, r *Record) { r.DeviceKey = keyOf(4).Seed() }, t0, here, 0, errs.Tampered, []string{}, "another installation"},
		{"no device key", func(_ *testing.T, r *Record) { r.DeviceKey = nil }, t0, here, 0, errs.Tampered, []string{}, "another installation"},
		{"another code's token", func(_ *testing.T, r *Record) { r.License = "PL2" }, t0, here, 0, errs.Tampered, []string{}, "another activation or license code"},
		{"another activation's token", func(_ *testing.T, r *Record) { r.ActivationID = "act-2" }, t0, here, 0, errs.Tampered, []string{}, "another activation"},
		// After a rotation: a key the pinned one endorsed, not one another
		// key endorsed.
		{"signed by an endorsed key", func(t *testing.T, r *Record) {
			*r = recordOf(t, claimsAt(t0), keyOf(5))
			e, _ := activation.Endorse(vendor, keyOf(5).Public().(ed25519.PublicKey), t0)
			r.Endorsements = []string{e}
		}, t0, here, 0, errs.Other, []string{}, ""},
		{"signed by a key another endorsed", func(t *testing.T, r *Record) {
			*r = recordOf(t, claimsAt(t0), keyOf(5))
			e, _ := activation.Endorse(keyOf(9), keyOf(5).Public().(ed25519.PublicKey), t0)
			r.Endorsements = []string{e}
		}, t0, here, 0, errs.Tampered, []string{}, "server_key"},
		// The fields shown are the token's: editing them changes nothing.
		{"edited display fields", func(_ *testing.T, r *Record) { r.Status, r.ExpireTime, r.CheckBy = StatusReleased, t0, t0 }, t0.Add(time.Hour), here, 0, errs.Other, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord(t)
			if tt.edit != nil {
				tt.edit(t, &r)
			}
			v := r.Validate(pinned, Mark{}, tt.now, tt.current, tt.grace)
			if tt.kind == errs.Other {
				if !v.Valid() {
					t.Fatalf("invalid: %v", v.Err)
				}
			} else if errs.KindOf(v.Err) != tt.kind {
				t.Fatalf("kind %v (%v), want %v", errs.KindOf(v.Err), v.Err, tt.kind)
			}
			if got := v.Changed; !slices.Equal(got, tt.changed) && len(got)+len(tt.changed) > 0 {
				t.Errorf("changed %v, want %v", got, tt.changed)
			}
			if !strings.Contains(v.Reason(), tt.reason) {
				t.Errorf("reason %q lacks %q", v.Reason(), tt.reason)
			}
		})
	}
}

// A genuine token fills the fields shown, even when it is refused for its
// time.
func TestValidateShowsTheClaims(t *testing.T) {
	r := testRecord(t)
	r.Status, r.ExpireTime = "", time.Time{}
	v := r.Validate(pinned, Mark{}, t0.AddDate(0, 1, 0), here, 0)
	if !errs.Is(v.Err, errs.GraceExpired) || r.Status != StatusAlive || !r.ExpireTime.Equal(t0.AddDate(1, 0, 0)) ||
		!r.LastCheckedAt.Equal(t0) || !r.CheckBy.Equal(t0.Add(grace7)) || r.ProductID != "P" || r.OrderID != "O" ||
		r.Fingerprint != devinfo.Render(here).String() {
		t.Fatalf("%v: %+v", v.Err, r)
	}
}

// The token follows devinfo's policy: bound to a VM's single MAC, it does
// not validate on another VM of the same CPU model.
func TestTokenBoundToOneMAC(t *testing.T) {
	vm := devinfo.Components{MAC: []string{"52:54:00:00:00:01"}, CPU: "BFEBFBFF000906EA"}
	c := claimsAt(t0)
	c.Fingerprint = devinfo.Render(vm).String()
	r := recordOf(t, c, vendor)
	if v := r.Validate(pinned, Mark{}, t0, vm, 0); !v.Valid() {
		t.Fatalf("its own VM: %v", v.Err)
	}
	other := devinfo.Components{MAC: []string{"52:54:00:00:00:02"}, CPU: "BFEBFBFF000906EA"}
	if v := r.Validate(pinned, Mark{}, t0, other, 0); !errs.Is(v.Err, errs.WrongMachine) {
		t.Fatalf("another VM: %v", v.Err)
	}
}

func TestObserve(t *testing.T) {
	r := testRecord(t)
	if r.Observe(t0.Add(time.Minute)) {
		t.Error("a minute later is not worth a write")
	}
	if !r.Observe(t0.Add(2 * time.Hour)) {
		t.Error("two hours later is worth a write")
	}
	if r.Observe(t0) || !r.MaxSeen.Equal(t0.Add(2*time.Hour)) {
		t.Error("MaxSeen went back")
	}
}

func TestNormalizeCode(t *testing.T) {
	for in, want := range map[string]string{" PL0123-abc_X \n": "PL0123-abc_X", strings.Repeat("A", 64): strings.Repeat("A", 64)} {
		if got, err := NormalizeCode(in); err != nil || got != want {
			t.Errorf("NormalizeCode(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("A", 65), "PL 12", "PL\x00", "PL/../x", "ＰＬ１", "PL;rm"} {
		if _, err := NormalizeCode(bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("NormalizeCode(%q) = %v", bad, err)
		}
	}
}

// BenchmarkValidateOffline is the offline check every start runs: the
// token's signature, its claims, the fingerprint.
func BenchmarkValidateOffline(b *testing.B) {
	r := testRecord(b)
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if v := r.Validate(pinned, Mark{}, now, here, grace7); !v.Valid() {
			b.Fatal(v.Err)
		}
	}
}

// Trusted follows chains of endorsements from the pinned keys, in any
// order, and nothing else.
func TestTrustedChains(t *testing.T) {
	k5, k6 := keyOf(5).Public().(ed25519.PublicKey), keyOf(6).Public().(ed25519.PublicKey)
	e15, _ := activation.Endorse(vendor, k5, t0)
	e56, _ := activation.Endorse(keyOf(5), k6, t0)
	e96, _ := activation.Endorse(keyOf(9), keyOf(7).Public().(ed25519.PublicKey), t0)
	keys, used := chain(pinned, []string{e96, e56, e15, e15})
	if len(keys) != 3 || keys[token.KeyID(k6)] == nil || len(used) != 2 {
		t.Fatalf("keys %d, used %d", len(keys), len(used))
	}
	if len(pinned) != 1 {
		t.Fatal("the pinned set changed")
	}
}
