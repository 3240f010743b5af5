package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockBytes is the range locked: the whole of any file this package makes.
const lockBytes = ^uint32(0)

// tryLock takes the lock without waiting; held is false when another open
// file holds it.
func tryLock(f *os.File) (held bool, err error) {
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, lockBytes, lockBytes, ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

func unlockFile(f *os.File) {
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, lockBytes, lockBytes, new(windows.Overlapped))
}
