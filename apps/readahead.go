package apps

import (
	"io"
	"sync"
)

// readAhead reads its source in a goroutine of its own, a few buffers ahead
// of the consumer, so that producing the bytes (gzip decompression) and
// consuming them (writing files) use two cores.
type readAhead struct {
	full   chan chunk
	free   chan []byte
	cur    []byte // unread part of buf
	buf    []byte // the buffer being consumed, returned to free when done
	err    error  // the source's error, once its chunk is consumed
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
}

type chunk struct {
	b   []byte
	err error
}

const (
	readAheadBuffers = 4
	readAheadSize    = 1 << 20
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full:   make(chan chunk, readAheadBuffers),
		free:   make(chan []byte, readAheadBuffers),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range readAheadBuffers {
		ra.free <- make([]byte, readAheadSize)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.exited)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		// Fill the whole buffer, keeping the source's own error (io.ReadFull
		// would turn a truncated gzip stream's ErrUnexpectedEOF into a
		// different error at a buffer boundary, or hide it).
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		select {
		case ra.full <- chunk{buf[:n], err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.buf != nil {
			// Never blocks: free has room for every buffer.
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		c := <-ra.full
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it, so that the source is no
// longer read once Close returns.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	<-ra.exited
	return nil
}
