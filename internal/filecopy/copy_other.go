//go:build !linux

package filecopy

import (
	"errors"
	"os"
)

// startWriteback has no portable equivalent of sync_file_range; the final
// fsync writes everything.
func startWriteback(*os.File, int64, int64) {}

// dropCache cannot evict a file's pages portably; reading back then reads
// the cache.
func dropCache(*os.File) {}

// Exchange is not available: the caller swaps with two renames.
func Exchange(string, string) error { return errors.ErrUnsupported }

// copyN copies up to n bytes from src to dst and returns io.EOF when src
// ended first, through buf: there is no in-kernel copy to rely on.
func copyN(dst, src *os.File, n int64, buf []byte) (int64, error) {
	return copyNBuffered(dst, src, n, buf)
}
