package filecopy

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// the disk now, without waiting. Otherwise the whole file sits dirty in the
// page cache until the final fsync, which then writes all of it while the
// copy waits; started early, the disk writes overlap the copy. Best effort:
// it only changes when the data is written.
func startWriteback(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
		})
	}
}

// dropCache evicts f's (synced, hence clean) pages from the page cache, so
// that reading it back reads the disk. Best effort.
func dropCache(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.Fadvise(int(fd), 0, 0, unix.FADV_DONTNEED)
		})
	}
}

// Exchange swaps the names a and b atomically (renameat2 RENAME_EXCHANGE,
// Linux 3.15), so a folder can replace another with no moment where neither
// is there. Not every file system supports it: on an error the caller falls
// back to two renames.
func Exchange(a, b string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// copyN copies up to n bytes from src to dst and returns io.EOF when src
// ended first. On Linux *os.File.ReadFrom copies inside the kernel
// (copy_file_range, a reflink where the file system has them, else splice),
// as cp does, so buf is unused.
func copyN(dst, src *os.File, n int64, _ []byte) (int64, error) {
	return io.CopyN(dst, src, n)
}
