package sdk

// The connection to the agent: dialing and the hello handshake, the read
// loop, reconnecting after a drop, and writing frames.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/protocol/usersock"
)

// dial connects and says hello. Before it sends anything it checks that
// the socket is this user's (its folder, and the process listening): a
// socket another user could have put in the agent's place gets nothing,
// not even the program's name. It closes the connection on failure.
func (c *Client) dial(ctx context.Context) (net.Conn, *bufio.Reader, protocol.HelloResult, error) {
	conn, err := usersock.Dial(ctx, c.cfg.socketPath)
	if errors.Is(err, usersock.ErrUnsafeFolder) || errors.Is(err, usersock.ErrOtherUser) {
		return nil, nil, protocol.HelloResult{}, fmt.Errorf("sdk: connect to the desktop client at %s: %w: %w", c.cfg.socketPath, ErrNotPrivate, err)
	}
	if err != nil {
		return nil, nil, protocol.HelloResult{}, fmt.Errorf("sdk: connect to the desktop client at %s: %w", c.cfg.socketPath, err)
	}
	r, hello, err := c.handshake(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, nil, protocol.HelloResult{}, fmt.Errorf("sdk: hello to the desktop client at %s: %w", c.cfg.socketPath, err)
	}
	return conn, r, hello, nil
}

// handshake sends hello and reads its answer. On a timeout or cancellation
// it closes conn, which ends any read or write in progress at once.
func (c *Client) handshake(ctx context.Context, conn net.Conn) (*bufio.Reader, protocol.HelloResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.helloTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close() })

	id := c.nextID.Add(1)
	params, err := json.Marshal(protocol.HelloParams{Protocol: protocol.Version, App: c.cfg.app, Version: c.cfg.version, PID: os.Getpid()})
	if err != nil {
		stop()
		return nil, protocol.HelloResult{}, err
	}
	var hello protocol.HelloResult
	r := bufio.NewReaderSize(&frameReader{conn: conn, timeout: c.cfg.frameTimeout}, 64<<10)
	err = func() error {
		if err := protocol.WriteMessage(conn, protocol.Message{ID: &id, Method: protocol.MethodHello, Params: params}); err != nil {
			return err
		}
		for {
			m, err := protocol.ReadMessage(r)
			if err != nil {
				return err
			}
			if m.Method != "" {
				continue // nothing is due before the answer; skip rather than fail
			}
			if m.ID == nil {
				// JSON-RPC's answer to a request it could not read: no id.
				if m.Error != nil {
					return fmt.Errorf("%w: hello refused without an id: %v", ErrProtocol, m.Error)
				}
				return fmt.Errorf("%w: an answer without an id before hello was answered", ErrProtocol)
			}
			if *m.ID != id {
				return fmt.Errorf("%w: answer to request %d before hello was answered", ErrProtocol, *m.ID)
			}
			if m.Error != nil {
				return m.Error
			}
			if err := json.Unmarshal(m.Result, &hello); err != nil {
				return fmt.Errorf("%w: hello result: %v", ErrProtocol, err)
			}
			return nil
		}
	}()
	if !stop() {
		// The AfterFunc closed conn: report why rather than "use of closed
		// network connection".
		return nil, protocol.HelloResult{}, ctx.Err()
	}
	if err != nil {
		return nil, protocol.HelloResult{}, err
	}
	return r, hello, nil
}

// run owns the connection: it reads until the connection fails, fails what
// was in flight on it, and reconnects, until Close.
func (c *Client) run(conn net.Conn, r *bufio.Reader) {
	defer c.loop.Done()
	for {
		err := c.readLoop(conn, r)
		conn.Close()
		if !c.drop(conn, err) {
			return
		}
		var hello protocol.HelloResult
		conn, r, hello = c.reconnect()
		if conn == nil {
			return
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.conn, c.hello = conn, hello
		close(c.up)
		c.mu.Unlock()
	}
}

// reconnect dials with a growing, jittered delay until it succeeds (the
// connection) or the client is closed (nil).
func (c *Client) reconnect() (net.Conn, *bufio.Reader, protocol.HelloResult) {
	delay := c.cfg.backoffMin
	for {
		// Jitter spreads the programs of one machine that all lost the same
		// agent, so they do not hit the new one at the same instant.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil, nil, protocol.HelloResult{}
		case <-t.C:
		}
		conn, r, hello, err := c.dial(c.ctx)
		if err == nil {
			return conn, r, hello
		}
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		delay = min(delay*2, c.cfg.backoffMax)
	}
}

// drop marks the connection down and fails everything that was waiting on
// it. It reports whether the client should reconnect (it is not closed).
func (c *Client) drop(conn net.Conn, cause error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if c.closed {
		err = ErrClosed
	} else {
		err = fmt.Errorf("%w: %w", ErrDisconnected, cause)
	}
	if c.conn == conn {
		c.conn = nil
		c.up = make(chan struct{})
	}
	c.lastErr = err
	for id, p := range c.pending {
		if p.conn == conn {
			delete(c.pending, id)
			p.ch <- callResult{err: err}
		}
	}
	// Request ids belong to the agent process that issued them; a new one
	// will never send their events.
	for rid, w := range c.waiters {
		if w.conn == conn {
			delete(c.waiters, rid)
			w.ch <- waitResult{err: err}
		}
	}
	return !c.closed
}

// readLoop reads frames until an error: any frame that cannot be used is a
// broken agent, and the connection is dropped rather than resynchronised.
func (c *Client) readLoop(conn net.Conn, r *bufio.Reader) error {
	for {
		m, err := protocol.ReadMessage(r)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("sdk: half-written frame: the rest did not arrive within %v", c.cfg.frameTimeout)
			}
			return err
		}
		switch {
		case m.Method == protocol.MethodEvent:
			var e protocol.Event
			if err := json.Unmarshal(m.Params, &e); err != nil {
				return fmt.Errorf("%w: event params: %v", protocol.ErrBadFrame, err)
			}
			c.deliver(e)
		case m.Method != "":
			// The agent sends no requests or other notifications in this
			// protocol version; later minor versions may, and old clients
			// ignore them.
		default:
			if err := c.answer(conn, m); err != nil {
				return err
			}
		}
	}
}

// answer hands a response to its call.
func (c *Client) answer(conn net.Conn, m protocol.Message) error {
	if m.ID == nil {
		return nil // an error about a frame the agent could not read: this client sends none
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[*m.ID]
	if p == nil {
		return nil // the caller gave up (context ended); nothing to do
	}
	delete(c.pending, *m.ID)
	res := callResult{msg: m}
	if m.Error == nil && p.final != "" {
		// Register the waiter before the reader reads the next frame: the
		// agent sends the acceptance before any event of the request, so the
		// final event cannot slip past.
		var a protocol.Accepted
		if err := json.Unmarshal(m.Result, &a); err != nil || a.RequestID == "" {
			res.err = fmt.Errorf("%w: acceptance without a request id: %s", ErrProtocol, m.Result)
		} else if c.waiters[a.RequestID] != nil {
			res.err = fmt.Errorf("%w: request id %q issued twice", ErrProtocol, a.RequestID)
		} else {
			w := &waiter{conn: conn, final: p.final, ch: make(chan waitResult, 1)}
			c.waiters[a.RequestID] = w
			res.waiter = w
		}
	}
	p.ch <- res
	return nil
}

// deliver completes the waiter of e's request when e is its final event, and
// hands e to the program.
func (c *Client) deliver(e protocol.Event) {
	if rid := e.RequestID(); rid != "" {
		c.mu.Lock()
		if w := c.waiters[rid]; w != nil && w.final == e.Operate {
			delete(c.waiters, rid)
			w.ch <- waitResult{event: e}
		}
		c.mu.Unlock()
	}
	c.events.push(e)
}

// connection returns the live connection, waiting up to the reconnect wait
// while the client reconnects.
func (c *Client) connection(ctx context.Context) (net.Conn, error) {
	c.mu.Lock()
	conn, up, closed := c.conn, c.up, c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed
	case conn != nil:
		return conn, nil
	}
	t := time.NewTimer(c.cfg.reconnectWait)
	defer t.Stop()
	select {
	case <-up:
	case <-t.C:
	case <-c.ctx.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, c.downErrLocked()
	}
	return c.conn, nil
}

func (c *Client) downErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downErrLocked()
}

func (c *Client) downErrLocked() error {
	switch {
	case c.closed:
		return ErrClosed
	case c.lastErr != nil && errors.Is(c.lastErr, ErrDisconnected):
		return c.lastErr
	case c.lastErr != nil:
		return fmt.Errorf("%w: %w", ErrDisconnected, c.lastErr)
	}
	return ErrDisconnected
}

// write sends one frame. The deadline is the call's, capped by the write
// timeout, so an agent that stops reading cannot block a caller forever.
// It returns how many bytes went out, so that a write that failed before
// the first byte need not cost the connection.
func (c *Client) write(ctx context.Context, conn net.Conn, m protocol.Message) (int, error) {
	deadline := time.Now().Add(c.cfg.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	w := countingWriter{w: conn}
	err := protocol.WriteMessage(&w, m)
	return w.n, err
}

type countingWriter struct {
	w io.Writer
	n int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.n += n
	return n, err
}

// frameReader sits under the bufio.Reader and bounds how long a frame may
// stay half written: when the bytes read so far end inside a frame, the rest
// must arrive within timeout; between frames there is no deadline, because an
// idle connection (no events for hours) is normal.
type frameReader struct {
	conn     net.Conn
	timeout  time.Duration
	midFrame bool
}

func (r *frameReader) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	if n > 0 {
		if mid := p[n-1] != '\n'; mid != r.midFrame {
			r.midFrame = mid
			var deadline time.Time
			if mid {
				deadline = time.Now().Add(r.timeout)
			}
			if derr := r.conn.SetReadDeadline(deadline); derr != nil && err == nil {
				err = derr
			}
		}
	}
	return n, err
}
