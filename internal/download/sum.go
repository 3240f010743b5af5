package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
)

// ParseSHA256 decodes a SHA-256 given in hex (surrounding spaces allowed);
// "" gives nil. A malformed one is an errs.Invalid error.
func ParseSHA256(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, errs.E(op, errs.Invalid, fmt.Errorf("SHA-256 %q: want 64 hexadecimal digits", s))
	}
	return b, nil
}

// VerifySHA256 hashes the file at path and compares its SHA-256 with sum
// (hex), reporting progress as Verifying. A mismatch is an errs.Integrity
// error wrapping ErrChecksum; the file is left alone.
func VerifySHA256(ctx context.Context, path, sum string, progress func(Progress)) error {
	want, err := ParseSHA256(sum)
	if err != nil {
		return err
	}
	if want == nil {
		return nil
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	if err := verify(ctx, path, want, progress); err != nil {
		f := asFailure(err)
		return errs.E("verify", f.kind, fmt.Errorf("%s: %w", path, f.err))
	}
	return nil
}

// verify hashes the file at path and compares; its errors are *failure.
func verify(ctx context.Context, path string, want []byte, progress func(Progress)) error {
	f, err := os.Open(path)
	if err != nil {
		return fatal(errs.Other, err)
	}
	defer f.Close()
	var total int64 = -1
	if st, err := f.Stat(); err == nil {
		total = st.Size()
	}
	h := sha256.New()
	report := func(done, total int64) { progress(Progress{Verifying: true, Done: done, Total: total}) }
	meter := filecopy.NewMeter(report, total, progressStep)
	if _, err := io.Copy(h, filecopy.NewReader(ctx, f, meter)); err != nil {
		if ctx.Err() != nil {
			return ctxFailure(ctx)
		}
		return fatal(errs.Other, err)
	}
	report(meter.Done(), total)
	if got := h.Sum(nil); !slices.Equal(got, want) {
		return fatal(errs.Integrity, fmt.Errorf("%w: the file's SHA-256 is %x, not %x", ErrChecksum, got, want))
	}
	return nil
}
