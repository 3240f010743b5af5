package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/secret"
)

func machine(id string) func() (string, error) { return func() (string, error) { return id, nil } }

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// record builds a record whose fingerprint has n MAC addresses, so that a
// large n needs several keyring entries.
func record(code string, n int) licensing.Record {
	var c devinfo.Components
	for i := range n {
		c.MAC = append(c.MAC, fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256))
	}
	c.Disk, c.Board, c.CPU = []string{"DISK-SERIAL-1"}, "BOARD-1", "BFEBFBFF000906EA"
	fp := devinfo.Render(c)
	return licensing.Record{
		Version: licensing.RecordVersion, License: code, Server: "http://127.0.0.1:1", ActivationID: "act-" + code,
		Token: strings.Repeat("t", 600), DeviceKey: bytes.Repeat([]byte{7}, 32), MaxSeen: t0,
		Status: licensing.StatusAlive, ExpireTime: t0.AddDate(1, 0, 0), ProductID: "P1", OrderID: "O1",
		Fingerprint: fp.String(), Components: fp.Components,
	}
}

func equalRecords(a, b licensing.Record) bool {
	return a.License == b.License && a.Fingerprint == b.Fingerprint && a.ExpireTime.Equal(b.ExpireTime) &&
		a.Status == b.Status && a.MaxSeen.Equal(b.MaxSeen) && a.Token == b.Token && bytes.Equal(a.DeviceKey, b.DeviceKey)
}

// testStoreContract runs what every Store must do; newStore returns a store
// over the same backing storage for a given machine id.
func testStoreContract(t *testing.T, newStore func(machineID string) licensing.RecordStore) {
	ctx := context.Background()
	s := newStore("machine-A")
	if _, err := s.Load(ctx); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("empty Load: %v", err)
	}
	small, large := record("PLSMALL", 2), record("PLLARGE", 280)
	for _, r := range []licensing.Record{small, large, small} {
		if err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx)
		if err != nil || !equalRecords(got, r) {
			t.Fatalf("Load after Save = %+v, %v", got.License, err)
		}
	}
	if err := s.Save(ctx, large); err != nil {
		t.Fatal(err)
	}
	// The same storage read on another machine: refused, saying so.
	if _, err := newStore("machine-B").Load(ctx); !errs.Is(err, errs.WrongMachine) ||
		!strings.Contains(err.Error(), "another machine") {
		t.Fatalf("Load on another machine: %v", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx); !errs.Is(err, errs.NotActivated) {
		t.Fatalf("Load after Delete: %v", err)
	}
	if err := s.Delete(ctx); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestKeyringStoreMemory(t *testing.T) {
	mem := &secret.Memory{}
	testStoreContract(t, func(id string) licensing.RecordStore { return NewKeyringStore(mem, machine(id)) })
	if mem.Len() != 0 {
		t.Errorf("%d entries left after Delete", mem.Len())
	}
}

func TestKeyringStoreSplitsLargeRecords(t *testing.T) {
	mem := &secret.Memory{}
	s := NewKeyringStore(mem, machine("m"))
	ctx := context.Background()
	if err := s.Save(ctx, record("PL1", 280)); err != nil {
		t.Fatal(err)
	}
	if n := mem.Len(); n < 4 { // secret, head, and at least two chunks
		t.Fatalf("%d entries", n)
	}
	// Saving a small one removes the old generation's chunks.
	if err := s.Save(ctx, record("PL1", 1)); err != nil {
		t.Fatal(err)
	}
	if n := mem.Len(); n != 3 {
		t.Fatalf("%d entries after a small save, want 3", n)
	}
}

// Every single-byte edit of any stored entry is refused.
func TestKeyringStoreEdits(t *testing.T) {
	ctx := context.Background()
	mem := &secret.Memory{}
	s := NewKeyringStore(mem, machine("m"))
	if err := s.Save(ctx, record("PL1", 3)); err != nil {
		t.Fatal(err)
	}
	chunk, _ := mem.Get(ctx, chunkAccount(1, 0))
	for i := 0; i < len(chunk); i += 7 {
		edited := []byte(chunk)
		edited[i] ^= 0x01
		_ = mem.Set(ctx, chunkAccount(1, 0), string(edited))
		if _, err := s.Load(ctx); !errs.Is(err, errs.Tampered) {
			t.Fatalf("edit at %d: %v", i, err)
		}
	}
	_ = mem.Set(ctx, chunkAccount(1, 0), chunk)
	if _, err := s.Load(ctx); err != nil {
		t.Fatalf("restored: %v", err)
	}
	// A re-sealed edit needs the key: editing the JSON and fixing the chunk
	// hash is still refused by the HMAC.
	b := binding{secret: bytes.Repeat([]byte{1}, 32), machineID: "m"}
	blob, _ := b.seal(record("PL1", 1))
	edited := bytes.Replace(blob, []byte(`"ALIVE"`), []byte(`"ALIVF"`), 1)
	if _, err := b.unseal(edited); !errs.Is(err, errs.Tampered) || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("edited payload: %v", err)
	}
	_ = mem.Delete(ctx, chunkAccount(1, 0))
	if _, err := s.Load(ctx); !errs.Is(err, errs.Tampered) {
		t.Fatalf("missing chunk: %v", err)
	}
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	testStoreContract(t, func(id string) licensing.RecordStore { return NewFileStore(dir, machine(id)) })

	ctx := context.Background()
	s := NewFileStore(dir, machine("m"))
	r := record("PLPLAINTEXTCHECK", 3)
	// Markers long enough that random sealed bytes never hold them by
	// chance (a two-letter one did, now and then).
	r.ProductID, r.OrderID = "PRODUCT-PLAINTEXT-CHECK", "ORDER-PLAINTEXT-CHECK"
	if err := s.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		st, _ := os.Stat(p)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", e.Name(), st.Mode())
		}
		data, _ := os.ReadFile(p)
		for _, plain := range []string{r.License, "ALIVE", "DISK-SERIAL-1", "02:00:00", r.ProductID, r.OrderID} {
			if bytes.Contains(data, []byte(plain)) {
				t.Errorf("%s holds %q in plain text", e.Name(), plain)
			}
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, fileRecord))
	data[len(data)-5] ^= 0x40
	_ = os.WriteFile(filepath.Join(dir, fileRecord), data, 0o600)
	if _, err := s.Load(ctx); !errs.Is(err, errs.Tampered) {
		t.Fatalf("edited file: %v", err)
	}
}

func TestOpenChoosesStorage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := &secret.Memory{}
	// An older client's marketplace AK/SK go when the keyring is opened.
	if err := mem.Set(ctx, LegacyCredentialsAccount, `{"AK":"AKOLD","SK":"SKOLD"}`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Secrets: mem, Dir: dir, MachineID: machine("m")})
	if err != nil || s.Kind() != "keyring" || mem.Len() != 0 {
		t.Fatalf("keyring: %v %v, %d entries", s, err, mem.Len())
	}
	s, err = Open(ctx, Options{Secrets: &secret.Memory{Fail: fmt.Errorf("%w: no bus", secret.ErrUnavailable)}, Dir: dir, MachineID: machine("m")})
	if err != nil || s.Kind() != "file" {
		t.Fatalf("no keyring: %v %v", s, err)
	}
	_, err = Open(ctx, Options{Secrets: &secret.Memory{Fail: secret.ErrTimeout}, Dir: dir, MachineID: machine("m")})
	if !errs.Is(err, errs.Storage) {
		t.Fatalf("hung keyring: %v", err)
	}
	_, err = Open(ctx, Options{Secrets: &secret.Memory{}, Dir: dir, MachineID: func() (string, error) { return "", errors.New("none") }})
	if !errs.Is(err, errs.Storage) {
		t.Fatalf("no machine id: %v", err)
	}
}

// Deferred opens on first use, keeps what it opened, and tries again after
// a failed open (a keyring that was locked answers later).
func TestDeferredOpensOnFirstUse(t *testing.T) {
	ctx := context.Background()
	mem := &secret.Memory{Fail: secret.ErrTimeout}
	s := Deferred(Options{Secrets: mem, Dir: t.TempDir(), MachineID: machine("m")})
	if s.Kind() != "" {
		t.Fatalf("kind %q before any use", s.Kind())
	}
	if _, err := s.Load(ctx); !errs.Is(err, errs.Storage) {
		t.Fatalf("hung keyring: %v", err)
	}
	mem.Fail = nil
	if _, err := s.Load(ctx); !errs.Is(err, errs.NotActivated) || s.Kind() != "keyring" {
		t.Fatalf("after the keyring answered: %v, kind %q", err, s.Kind())
	}
	if err := s.Save(ctx, record("PL1", 1)); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Load(ctx); err != nil || r.License != "PL1" {
		t.Fatalf("load: %+v %v", r, err)
	}
	if err := s.Delete(ctx); err != nil || mem.Len() != 0 {
		t.Fatalf("delete: %v, %d entries left", err, mem.Len())
	}
}

// FuzzUnseal feeds arbitrary bytes to the record decoder and to the clock
// mark's: they never panic, and accept nothing but what the key sealed.
func FuzzUnseal(f *testing.F) {
	b := binding{secret: bytes.Repeat([]byte{7}, 32), machineID: "fuzz"}
	good, _ := b.seal(record("PL1", 2))
	goodMark, _ := sealMark("fuzz", testMark(t0))
	f.Add(good)
	f.Add(goodMark)
	f.Add([]byte("ISR1"))
	f.Add([]byte("ICM1"))
	f.Add([]byte{})
	f.Add(append([]byte("ISR1xxxxxxxx"), make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		r, err := b.unseal(blob)
		if err == nil && !bytes.Equal(blob, good) {
			// Only an exact copy of what we sealed verifies (HMAC).
			t.Fatalf("accepted a forged record: %+v", r.License)
		}
		if err != nil && errs.KindOf(err) == errs.Other {
			t.Fatalf("unclassified error: %v", err)
		}
		if m, err := unsealMark("fuzz", blob); err == nil && !bytes.Equal(blob, goodMark) {
			t.Fatalf("accepted a forged mark: %+v", m)
		}
	})
}

func BenchmarkUnseal(b *testing.B) {
	bd := binding{secret: bytes.Repeat([]byte{7}, 32), machineID: "bench"}
	blob, _ := bd.seal(record("PL1", 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bd.unseal(blob); err != nil {
			b.Fatal(err)
		}
	}
}
