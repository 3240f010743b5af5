package filecopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// copyToTemp copies src into a new file in dir with c and returns the open
// copy.
func copyToTemp(t *testing.T, c *Copier, src, dir string, m *Meter) (*os.File, Sum, error) {
	t.Helper()
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.CreateTemp(dir, ".copy-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	sum, err := c.Copy(context.Background(), src, fi, dst, m)
	return dst, sum, err
}

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4 << 10, copyChunk + 12345} {
		data := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var calls [][2]int64
		m := NewMeter(func(done, total int64) { calls = append(calls, [2]int64{done, total}) }, int64(size), copyChunk)
		dst, sum, err := copyToTemp(t, NewCopier(int64(size)), src, dir, m)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		want := sha256.Sum256(data)
		if sum.Size != int64(size) || !bytes.Equal(sum.SHA256, want[:]) {
			t.Errorf("%d bytes: sum %d %s", size, sum.Size, sum.Hex())
		}
		if got, err := os.ReadFile(dst.Name()); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: the copy differs (%v)", size, err)
		}
		if m.Done() != int64(size) {
			t.Errorf("%d bytes: meter counted %d", size, m.Done())
		}
		if size > copyChunk && (len(calls) != 1 || calls[0] != [2]int64{copyChunk, int64(size)}) {
			t.Errorf("%d bytes: progress %v", size, calls)
		}
	}
}

func TestCopyRefuses(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced between the caller's check and the copy.
	if err := os.WriteFile(src+".new", []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src+".new", src); err != nil {
		t.Fatal(err)
	}
	dst, err := os.CreateTemp(dir, "dst")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	_, err = NewCopier(0).Copy(context.Background(), src, fi, dst, nil)
	if !errors.Is(err, ErrChanged) || KindOf(err) != errs.Busy {
		t.Errorf("replaced source: %v (kind %v)", err, KindOf(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fi, _ = os.Stat(src)
	_, err = NewCopier(0).Copy(ctx, src, fi, dst, nil)
	if !errors.Is(err, context.Canceled) || KindOf(err) != errs.Canceled {
		t.Errorf("cancelled: %v (kind %v)", err, KindOf(err))
	}
	_, err = NewCopier(0).Copy(context.Background(), filepath.Join(dir, "missing"), fi, dst, nil)
	if KindOf(err) != errs.NotExist {
		t.Errorf("missing source: %v (kind %v)", err, KindOf(err))
	}
}

// TestReadBackCatchesLostWrites: a copy that the disk changed after it was
// written and synced fails ReadBack with ErrVerify, of kind Integrity.
func TestReadBackCatchesLostWrites(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := []byte(strings.Repeat("read back ", 300000))
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewCopier(int64(len(data)))
	corruptions := map[string]func(f *os.File) error{
		"flipped byte": func(f *os.File) error { _, err := f.WriteAt([]byte{'X'}, 1000); return err },
		"truncated":    func(f *os.File) error { return f.Truncate(int64(len(data) - 1)) },
		"extended":     func(f *os.File) error { _, err := f.WriteAt([]byte{'X'}, int64(len(data))); return err },
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			dst, sum, err := copyToTemp(t, c, src, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.ReadBack(dst, sum); err != nil {
				t.Fatalf("an intact copy fails: %v", err)
			}
			if err := corrupt(dst); err != nil {
				t.Fatal(err)
			}
			err = c.ReadBack(dst, sum)
			if !errors.Is(err, ErrVerify) || KindOf(err) != errs.Integrity {
				t.Fatalf("corrupted copy: %v (kind %v)", err, KindOf(err))
			}
		})
	}
}

func TestRegular(t *testing.T) {
	dir := t.TempDir()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Regular(fi); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a folder") || KindOf(err) != errs.Invalid {
		t.Errorf("folder: %v", err)
	}
	if runtime.GOOS != "windows" {
		p := filepath.Join(dir, "s")
		if l, err := net.Listen("unix", p); err == nil {
			defer l.Close()
			if fi, err := os.Lstat(p); err != nil || !strings.Contains(Regular(fi).Error(), "a socket") {
				t.Errorf("socket: %v", err)
			}
		}
	}
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(f); err != nil || Regular(fi) != nil {
		t.Errorf("regular file: %v", err)
	}
}

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	for _, content := range []string{"one", "two"} {
		tmp := filepath.Join(dir, ".live.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Commit(tmp, live); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(live); err != nil || string(got) != content {
			t.Errorf("live holds %q, %v; want %q", got, err, content)
		}
		if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the temporary file is still there: %v", err)
		}
	}
}

func TestExchange(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.MkdirAll(filepath.Join(p, filepath.Base(p)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := Exchange(a, b); err != nil {
		t.Skip("no atomic exchange here:", err)
	}
	if _, err := os.Stat(filepath.Join(a, "b")); err != nil {
		t.Errorf("not swapped: %v", err)
	}
}

// copyNBuffered is the copy of systems without an in-kernel one; check it
// here too.
func TestCopyNBuffered(t *testing.T) {
	src := strings.NewReader(strings.Repeat("0123456789", 1000))
	var dst strings.Builder
	buf := make([]byte, 64)
	for _, want := range []int64{4096, 4096, 1808, 0} {
		n, err := copyNBuffered(&dst, src, 4096, buf)
		if n != want || (want < 4096) != errors.Is(err, io.EOF) || err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("copied %d, %v; want %d", n, err, want)
		}
	}
	if dst.String() != strings.Repeat("0123456789", 1000) {
		t.Error("copy differs")
	}
}
