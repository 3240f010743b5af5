package filelock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// immutable sets the immutable attribute on path (which stops even root from
// writing it), and clears it when the test ends; it skips the test where the
// file system has no such attribute.
func immutable(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i does not work here: %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
}

// A lock file that cannot be written (another user's, a read-only home) is
// still locked, through a read-only descriptor; one that cannot even be
// created fails with ErrCannotOpen, so the caller can go on without it.
func TestLockFileNotWritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "authorization.lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	immutable(t, path)
	ctx := context.Background()
	unlock, err := Lock(ctx, path)
	if err != nil {
		t.Fatalf("read-only lock file: %v", err)
	}
	// It is a real lock: a second Lock waits until the first is released.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(short, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v", err)
	}
	unlock()

	locked := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	immutable(t, locked)
	if _, err := Lock(ctx, filepath.Join(locked, "authorization.lock")); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("lock file in a folder nobody may write: %v, want ErrCannotOpen", err)
	}
}
