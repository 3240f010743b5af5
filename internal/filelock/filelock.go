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
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrCannotOpen means the lock file can neither be created nor opened, not
// even for reading: a read-only home, or a lock file another user (root,
// through `sudo -E`) left behind. The caller decides whether to go on
// without the cross-process lock.
var ErrCannotOpen = errors.New("filelock: cannot open the lock file")

// Lock waits until it holds an exclusive lock on path, creating the file
// (mode 0644: it holds nothing, and another user who must take turns can
// still open it for reading; its folder 0700) when needed, or until ctx
// ends, and then returns ctx's error. A file that cannot be written is
// locked through a read-only descriptor, which flock and LockFileEx accept;
// one that cannot be opened at all gives an error wrapping ErrCannotOpen.
// unlock releases the lock; call it exactly once.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := open(path)
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

// open opens path for locking: read-write (created if need be), else
// read-only.
func open(path string) (*os.File, error) {
	mkErr := os.MkdirAll(filepath.Dir(path), 0o700)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err == nil {
		return f, nil
	}
	if f, rerr := os.Open(path); rerr == nil {
		return f, nil
	}
	if mkErr != nil {
		err = mkErr
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return nil, &os.PathError{Op: "lock", Path: path, Err: errors.Join(ErrCannotOpen, err)}
	}
	return nil, err
}
