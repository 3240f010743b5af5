// Package filecopy is the verified copy engine: it copies a regular file into
// a new one, in the kernel where the system can (copy_file_range on Linux, as
// cp does), hashes (SHA-256) the bytes stored as they are written, syncs them,
// checks that the source did not change meanwhile, can read the copy back from
// the disk to compare, and puts it in place with an atomic rename. It also
// holds the one progress meter and progress reader of long copies.
//
// It knows nothing of what the files are (cloud drive entries, vendor
// packages): its callers name, place and version them. It imports only the
// standard library, golang.org/x/sys and internal/errs.
package filecopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
)

const (
	// copyChunk is how much is copied between two checks of cancellation
	// and two progress updates, and how far the copy is ahead when the
	// hasher may start on it: small, so hashing overlaps even a small file.
	copyChunk = 2 << 20
	// bufferSize is the size of each of the (at most two) buffers of a
	// Copier, which bound its memory whatever the size of the file.
	bufferSize = 1 << 20
	// writebackChunk is how often the kernel is asked to start writing what
	// was copied, so the final fsync finds little left to do (see
	// startWriteback).
	writebackChunk = 64 << 20
)

// Errors of a copy; a returned error wraps one of these (or the error of the
// file system or the context) and says which file it is about. KindOf says
// which kind of failure each is.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrChanged    = errors.New("changed while it was being saved: save again once the program has finished writing it")
	ErrVerify     = errors.New("verification of the saved copy failed")
)

// Sum is what a copy stored: its size and the SHA-256 of its bytes.
type Sum struct {
	Size   int64
	SHA256 []byte
}

// Hex is the SHA-256 in hexadecimal.
func (s Sum) Hex() string { return hex.EncodeToString(s.SHA256) }

// Copier copies files with fixed buffers, reused across the files of one job
// (a save of an assembly copies many). It is not safe for concurrent use:
// give each job its own.
//
// What Copy verifies. Each file is copied in chunks while a second goroutine
// hashes the copy as it grows, reading it back just behind the writer; so the
// SHA-256 reported is that of the bytes stored, and hashing costs no extra
// pass. The copy is accepted only if every chunk was copied fully, the fsync
// succeeded, the copy's size equals the bytes copied, and the source is the
// same file with the same size and modification time after the copy as before
// it: a program still writing its file makes the copy fail with ErrChanged
// instead of storing a mix. Hashing the source as well, to compare, would
// double the hashing (SHA-256 is slower than the copy itself) to catch only a
// kernel that copies wrongly, trusted here as much as write(2) is; reading
// the copy back from the disk rather than the page cache is ReadBack.
type Copier struct {
	hashBuf []byte // reads the copy back to hash it
	copyBuf []byte // where the system cannot copy by itself (see copyN)
}

// NewCopier sizes the buffers for files of at most largest bytes (a small
// file does not need 1 MiB).
func NewCopier(largest int64) *Copier {
	size := int(min(max(largest, 4<<10), bufferSize))
	return &Copier{hashBuf: make([]byte, size), copyBuf: make([]byte, size)}
}

// Regular returns nil for a regular file and otherwise an error wrapping
// ErrNotRegular that says what fi is.
func Regular(fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%w (%s)", ErrNotRegular, describe(fi.Mode()))
}

// describe names the kind of a file that is not regular, for error messages.
func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return "a special file"
}

// Copy copies the regular file src, which had fi when the caller checked it,
// into dst (an empty file open for writing), syncs dst and verifies the copy
// (see Copier). progress, when not nil, counts the bytes copied.
func (c *Copier) Copy(ctx context.Context, src string, fi fs.FileInfo, dst *os.File, progress *Meter) (Sum, error) {
	in, err := os.Open(src)
	if err != nil {
		return Sum{}, err
	}
	defer in.Close()
	before, err := in.Stat()
	if err != nil {
		return Sum{}, err
	}
	if !os.SameFile(fi, before) || !before.Mode().IsRegular() {
		return Sum{}, fmt.Errorf("%s: %w (replaced)", src, ErrChanged)
	}
	// The copy is hashed through a descriptor of its own, so reading it
	// back never competes with the writes for the file offset.
	copyReader, err := os.Open(dst.Name())
	if err != nil {
		return Sum{}, err
	}
	defer copyReader.Close()
	n, sum, err := c.pump(ctx, dst, in, copyReader, progress)
	if err != nil {
		return Sum{}, err
	}
	after, err := in.Stat()
	if err != nil {
		return Sum{}, err
	}
	if n != before.Size() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return Sum{}, fmt.Errorf("%s: %w", src, ErrChanged)
	}
	if st, err := dst.Stat(); err != nil {
		return Sum{}, err
	} else if st.Size() != n {
		return Sum{}, fmt.Errorf("%w: %s holds %d bytes, %d were copied", ErrVerify, dst.Name(), st.Size(), n)
	}
	return Sum{Size: n, SHA256: sum}, nil
}

// ReadBack re-reads the copy f (synced by Copy) from the disk, dropping it
// from the page cache first where the system can (Linux), and compares its
// SHA-256 with want. It catches a disk or file system that loses writes
// without reporting it, at the price of reading everything a second time.
func (c *Copier) ReadBack(f *os.File, want Sum) error {
	dropCache(f)
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, want.Size+1), c.hashBuf)
	if err != nil {
		return fmt.Errorf("%w: reading back %s: %v", ErrVerify, f.Name(), err)
	}
	if got := h.Sum(nil); n != want.Size || !bytes.Equal(got, want.SHA256) {
		return fmt.Errorf("%w: %s reads back from the disk as %d bytes with SHA-256 %x, but %d bytes with %x were written", ErrVerify, f.Name(), n, got, want.Size, want.SHA256)
	}
	return nil
}

// copyNBuffered copies up to n bytes from src to dst through buf and returns
// io.EOF when src ended first. The wrappers hide ReadFrom and WriteTo, which
// would copy through a buffer of their own.
func copyNBuffered(dst io.Writer, src io.Reader, n int64, buf []byte) (int64, error) {
	k, err := io.CopyBuffer(struct{ io.Writer }{dst}, io.LimitReader(src, n), buf)
	if err == nil && k < n {
		err = io.EOF
	}
	return k, err
}

// pump copies src into dst in chunks of copyChunk bytes and syncs dst,
// while a second goroutine hashes the copy as it grows, reading it back
// through copyReader just behind the writer (from the page cache). Measured
// on a 1 GiB file, letting the kernel copy (copy_file_range, as cp does) and
// hashing alongside takes about as long as hashing alone, half the time of a
// read-hash-write loop in user space; and hashing the copy rather than the
// source makes the reported SHA-256 that of the bytes stored.
func (c *Copier) pump(ctx context.Context, dst, src, copyReader *os.File, progress *Meter) (n int64, sum []byte, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var copied atomic.Int64        // bytes of dst ready to hash
	more := make(chan struct{}, 1) // copied grew (coalesced)
	copyDone := make(chan struct{})
	h := sha256.New()
	var hashed int64
	var hashErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			for end := copied.Load(); hashed < end; {
				if err := ctx.Err(); err != nil {
					hashErr = err
					return
				}
				k, err := copyReader.ReadAt(c.hashBuf[:min(int64(len(c.hashBuf)), end-hashed)], hashed)
				h.Write(c.hashBuf[:k])
				hashed += int64(k)
				if err != nil {
					hashErr = err // EOF included: the bytes were copied, so they must be there
					return
				}
			}
			select {
			case <-more:
			case <-copyDone:
				if hashed == copied.Load() {
					return
				}
			}
		}
	})

	var copyErr error
	var started int64 // bytes handed to startWriteback
	for {
		if copyErr = ctx.Err(); copyErr != nil {
			break
		}
		k, err := copyN(dst, src, copyChunk, c.copyBuf)
		n += k
		copied.Store(n)
		select {
		case more <- struct{}{}:
		default: // the hasher has a wake-up pending already
		}
		if n-started >= writebackChunk {
			startWriteback(dst, started, n-started)
			started = n
		}
		progress.Add(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			copyErr = err
			cancel() // the hasher stops too
			break
		}
	}
	close(copyDone)
	if copyErr == nil {
		// Waiting for the disk while the hasher finishes its last chunks
		// overlaps the two; on small files they take about as long.
		copyErr = dst.Sync()
	}
	wg.Wait()
	switch {
	case copyErr != nil:
		return n, nil, copyErr
	case hashErr != nil:
		return n, nil, fmt.Errorf("%w: reading the copy: %v", ErrVerify, hashErr)
	}
	return n, h.Sum(nil), nil
}
