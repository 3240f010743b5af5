package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindPulledUpThroughWrapping(t *testing.T) {
	inner := E("store.load", Storage, errors.New("dbus: timeout"))
	wrapped := fmt.Errorf("loading: %w", inner)
	outer := E("status", Other, wrapped)
	if outer.Kind != Storage || KindOf(outer) != Storage || !Is(outer, Storage) {
		t.Fatalf("kind %v, want %v", outer.Kind, Storage)
	}
	if KindOf(E("x", Expired, inner)) != Expired {
		t.Fatal("an explicit kind must win over the wrapped one")
	}
	if KindOf(errors.Join(errors.New("a"), inner)) != Storage {
		t.Fatal("kind lost in errors.Join")
	}
	if KindOf(errors.New("plain")) != Other || Is(nil, Other) {
		t.Fatal("plain error or nil")
	}
	if got := E("status", Other, inner).Error(); got != "status: store.load: secure storage failed: dbus: timeout" {
		t.Fatalf("message %q", got)
	}
	if got := (&Error{Op: "query", Kind: Unavailable, Code: "HTTP 502"}).Error(); got != "query: service unreachable (HTTP 502)" {
		t.Fatalf("message %q", got)
	}
	if CodeOf(fmt.Errorf("w: %w", E("a", Other, &Error{Op: "q", Kind: NotFound, Code: "92020005"}))) != "92020005" {
		t.Fatal("code lost")
	}
}

func TestKindNamesStableAndUnique(t *testing.T) {
	seen := map[string]Kind{}
	for _, k := range Kinds() {
		n := k.Name()
		if prev, dup := seen[n]; dup {
			t.Fatalf("%v and %v share the name %q", prev, k, n)
		}
		seen[n] = k
		if back, ok := ParseKind(n); !ok || back != k {
			t.Fatalf("ParseKind(%q) = %v, %v", n, back, ok)
		}
	}
	// The names are part of the local protocol: these must never change.
	for name, k := range map[string]Kind{"internal": Other, "expired": Expired, "integrity": Integrity, "canceled": Canceled} {
		if k.Name() != name {
			t.Errorf("%v.Name() = %q, want %q", k, k.Name(), name)
		}
	}
	if _, ok := ParseKind("nonsense"); ok {
		t.Fatal("unknown name parsed")
	}
}
