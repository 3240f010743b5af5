package filecopy

import (
	"context"
	"io"
)

// Meter counts the bytes of a long copy or download and reports them to a
// function at most every step bytes, so a window or a socket is not flooded
// on big files. Its methods must be called from one goroutine; a nil *Meter
// counts nothing.
type Meter struct {
	fn                func(done, total int64)
	done, total, next int64
	step              int64
}

// NewMeter reports to fn (which may be nil) as bytes are added, at most every
// minStep bytes or every 1% of total, whichever is coarser. total < 0 means
// unknown.
func NewMeter(fn func(done, total int64), total, minStep int64) *Meter {
	step := max(total/100, minStep, 1)
	return &Meter{fn: fn, total: total, step: step, next: step}
}

// Add counts n more bytes, and reports them if a step is reached before the
// end (Finish reports the end).
func (m *Meter) Add(n int64) {
	if m == nil {
		return
	}
	m.done += n
	if m.fn != nil && m.done >= m.next && (m.total < 0 || m.done < m.total) {
		m.fn(m.done, m.total)
		m.next = m.done + m.step
	}
}

// Skip counts n bytes that are already there (the start of a resumed
// download) without reporting them.
func (m *Meter) Skip(n int64) {
	if m == nil {
		return
	}
	m.done += n
	m.next = m.done + m.step
}

// Done returns the bytes counted so far.
func (m *Meter) Done() int64 {
	if m == nil {
		return 0
	}
	return m.done
}

// Finish reports the end: every byte of total (with an unknown total, every
// byte counted).
func (m *Meter) Finish() {
	if m == nil || m.fn == nil {
		return
	}
	if m.total < 0 {
		m.fn(m.done, m.total)
		return
	}
	m.fn(m.total, m.total)
}

// Reader counts what is read through it on a Meter and fails with the
// context's error once ctx ends, so a long copy, hash or download through it
// can be interrupted.
type Reader struct {
	ctx context.Context
	r   io.Reader
	m   *Meter
}

// NewReader reads r, counting on m (which may be nil).
func NewReader(ctx context.Context, r io.Reader, m *Meter) *Reader {
	return &Reader{ctx: ctx, r: r, m: m}
}

func (r *Reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	r.m.Add(int64(n))
	return n, err
}
