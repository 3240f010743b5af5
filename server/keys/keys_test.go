package keys_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/server/keys"
	"github.com/iscdesk/iscdesk/token/activation"
)

func TestRing(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), keys.FileName)
	r, err := keys.Create(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Create(path, now); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	first := r.Current()
	next, err := r.Rotate(now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub := r.Published(now.Add(time.Hour))
	if len(pub) != 2 || !pub[1].Current || !pub[1].Key.Equal(next.Key) || pub[0].NotAfter == nil {
		t.Fatalf("published %+v", pub)
	}
	// A desktop that pinned the first key takes up the next one.
	got, err := activation.VerifyEndorsement(pub[1].Endorsement, activation.Pinned(first))
	if err != nil || !got.Equal(next.Key) {
		t.Fatalf("endorsement: %v", err)
	}
	if len(r.Published(now.Add(49*time.Hour))) != 1 {
		t.Fatal("old key still published after its overlap")
	}
	loaded, err := keys.Load(path)
	if err != nil || !loaded.Current().Equal(next.Key) {
		t.Fatalf("load: %v", err)
	}
	if runtime.GOOS != "windows" {
		os.Chmod(path, 0o644)
		if _, err := keys.Load(path); err == nil {
			t.Fatal("a world-readable key file was loaded")
		}
	}
}
