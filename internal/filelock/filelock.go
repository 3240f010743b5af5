// Package filelock takes an exclusive lock on a file that holds across
// processes: flock(2) on unix, LockFileEx on Windows. The operating system
// drops the lock when its holder closes the file or dies, so a killed
// process never leaves a stale lock behind.
//
// Two opens of the same file conflict even inside one process, so a lock
// also serialises goroutines that each call Lock. It imports only the
// standard library and golang.org/x/sys.
package filelock

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Lock waits until it holds an exclusive lock on path, creating the file
// (mode 0600, its folder 0700) when needed, or until ctx ends, and then
// returns ctx's error. unlock releases the lock; call it exactly once.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// Poll rather than block: a blocked lock call cannot be cancelled. The
	// first retries come quickly because locks here are held for
	// milliseconds.
	wait := time.Millisecond
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: path, Err: err}
		}
		if held {
			return func() { unlockFile(f); f.Close() }, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}
