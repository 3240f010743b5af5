package secret

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// testStore runs the behaviour every Store must have.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	acct := "test-" + t.Name()
	_ = s.Delete(ctx, acct)
	if _, err := s.Get(ctx, acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	if err := s.Set(ctx, acct, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, acct, "v2 with ünïcode"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, acct); err != nil || v != "v2 with ünïcode" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	big := strings.Repeat("x", MaxValueBytes)
	if err := s.Set(ctx, acct, big); err != nil {
		t.Fatalf("Set of MaxValueBytes: %v", err)
	}
	if v, _ := s.Get(ctx, acct); v != big {
		t.Fatal("big value changed")
	}
	if err := s.Set(ctx, acct, big+"y"); !errors.Is(err, ErrTooBig) {
		t.Fatalf("Set over the cap: %v", err)
	}
	if err := s.Delete(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, acct); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Get(ctx, acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
}

func TestMemory(t *testing.T) {
	testStore(t, &Memory{})
	m := &Memory{Fail: ErrUnavailable}
	if err := m.Set(context.Background(), "a", "b"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Fail not honoured: %v", err)
	}
}

// requireRealKeyring skips unless ISCDESK_REAL_KEYRING=1, which `make test`
// sets inside a private D-Bus session with gnome-keyring unlocked. With the
// variable set, a missing keyring is a failure, not a skip.
func requireRealKeyring(t *testing.T) {
	if os.Getenv("ISCDESK_REAL_KEYRING") != "1" {
		t.Skip("ISCDESK_REAL_KEYRING=1 not set (make test sets it inside a private D-Bus session)")
	}
}

func TestRealKeyring(t *testing.T) {
	requireRealKeyring(t)
	testStore(t, Keyring{Service: "iscdesk-test"})
}

// A Secret Service that never answers must not hang the caller.
func TestKeyringTimeout(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus") // past the bus check
	k := Keyring{Timeout: 50 * time.Millisecond}
	start := time.Now()
	err := k.call(context.Background(), func() error { time.Sleep(2 * time.Second); return nil })
	if !errors.Is(err, ErrTimeout) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}
