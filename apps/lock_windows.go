package apps

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// errorSharingViolation is ERROR_SHARING_VIOLATION, which the syscall
// package does not name.
const errorSharingViolation syscall.Errno = 32

// lockFile opens path with no sharing allowed, waiting for the holder
// (another install) until ctx ends. Windows closes the handle, and so drops
// the lock, when the holder dies.
func lockFile(ctx context.Context, path string) (func(), error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	for {
		h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil,
			syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
		if err == nil {
			f := os.NewFile(uintptr(h), path)
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, errorSharingViolation) {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
