package sdk

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
	"sync"
	"sync/atomic"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
)

// Client is a connection to the iscdesk agent (the published SDK's Init …
// ShutOut). It is safe for use by many goroutines. It reconnects by itself
// when the agent restarts; see Connect.
type Client struct {
	cfg    config
	events *dispatcher
	nextID atomic.Uint64

	// writeMu serialises frames: protocol.WriteMessage writes a frame with
	// one Write, and holding writeMu across it keeps frames of concurrent
	// calls whole.
	writeMu sync.Mutex

	mu      sync.Mutex
	conn    net.Conn      // nil while disconnected
	up      chan struct{} // closed while conn != nil; replaced when it drops
	hello   protocol.HelloResult
	lastErr error // why the connection last dropped
	pending map[uint64]*pendingCall
	waiters map[string]*waiter // request id → the synchronous helper waiting for its final event
	closed  bool

	// ctx ends with Close: it stops the reconnect loop and any dial or
	// hello in progress.
	ctx    context.Context
	cancel context.CancelFunc
	loop   sync.WaitGroup
}

// pendingCall is a request waiting for its response.
type pendingCall struct {
	conn  net.Conn // the connection it was sent on
	final string   // when set, the reader registers a waiter for this event before handing over the response
	ch    chan callResult
}

type callResult struct {
	msg    protocol.Message
	waiter *waiter
	err    error
}

// waiter is a synchronous helper waiting for the final event of its request.
type waiter struct {
	conn  net.Conn
	final string
	ch    chan waitResult
}

type waitResult struct {
	event protocol.Event
	err   error
}

// Connect connects to the agent of this user (the published Init): it dials
// protocol.SocketPath() (or the path of WithSocketPath), introduces the
// program with hello and checks the agent's protocol version. It fails when
// no agent answers; ctx bounds the dial and the hello.
//
// Once connected, the client keeps the connection up: when it drops (the
// desktop client restarted, or sent something that is not a frame), calls
// in flight fail with ErrDisconnected, and the client redials with a backoff
// from 50ms to 2s and sends hello again until Close. Calls made meanwhile
// wait up to the reconnect wait (WithReconnectWait) for the connection.
func Connect(ctx context.Context, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.socketPath == "" {
		cfg.socketPath = protocol.SocketPath()
	}
	c := &Client{
		cfg:     cfg,
		up:      make(chan struct{}),
		pending: map[uint64]*pendingCall{},
		waiters: map[string]*waiter{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	conn, r, hello, err := c.dial(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.events = newDispatcher(cfg.eventBuffer)
	c.conn, c.hello = conn, hello
	close(c.up)
	c.loop.Add(1)
	go c.run(conn, r)
	return c, nil
}

// Close disconnects and releases the client (the published ShutOut). Calls
// in flight fail with ErrClosed, later calls too, and the Events channel is
// closed (events already buffered in it can still be read). Close does not
// wait for the callback, which is what makes calling it from inside the
// callback safe; so an event that was already being delivered when Close was
// called may still reach the callback or the channel after Close returns,
// but no other. Close is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.cancel()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	c.loop.Wait() // the reader or the reconnect loop; neither waits for the program
	c.events.close()
	return nil
}

// Connected reports whether the connection to the agent is up right now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// AgentVersion is the version the agent gave in its last hello answer.
func (c *Client) AgentVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hello.AgentVersion
}

// RegisterEventRecall sets the function that receives every event (the
// published RegisterEventRecall); nil removes it. Events are delivered one at
// a time, in the order they arrived, on a goroutine of the client with no
// lock held, so the callback may call any method of the client, Close
// included. While it runs, later events wait in a backlog of 4096; beyond
// that the oldest are dropped and counted in DroppedEvents.
func (c *Client) RegisterEventRecall(fn func(protocol.Event)) { c.events.setCallback(fn) }

// Events returns a channel that receives every event arriving from the first
// call of Events on (after the callback, if one is registered). It is
// buffered (WithEventBuffer, default 256); when it is full, the oldest event
// in it is dropped to make room and counted in DroppedEvents, so a program
// that stops reading never stalls the client. It is closed by Close.
func (c *Client) Events() <-chan protocol.Event { return c.events.events() }

// DroppedEvents counts the events dropped because the Events channel was
// full or the callback fell more than 4096 events behind.
func (c *Client) DroppedEvents() uint64 { return c.events.dropped.Load() }

// dial connects and says hello. It closes the connection on failure.
func (c *Client) dial(ctx context.Context) (net.Conn, *bufio.Reader, protocol.HelloResult, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.cfg.socketPath)
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

// call sends a request and waits for its response. With final set and the
// call accepted, it also returns the waiter for the request's final event.
func (c *Client) call(ctx context.Context, method string, params any, final string) (json.RawMessage, *waiter, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	id := c.nextID.Add(1)
	p := &pendingCall{conn: conn, final: final, ch: make(chan callResult, 1)}
	c.mu.Lock()
	if c.conn != conn { // dropped between connection() and here
		c.mu.Unlock()
		return nil, nil, fmt.Errorf("sdk: %s: %w", method, c.downErr())
	}
	c.pending[id] = p
	c.mu.Unlock()

	if written, err := c.write(ctx, conn, protocol.Message{ID: &id, Method: method, Params: b}); err != nil {
		c.forgetCall(id)
		if written == 0 && ctx.Err() != nil {
			// The call's own deadline passed before a byte went out: the
			// stream is intact and other calls keep it.
			return nil, nil, fmt.Errorf("sdk: %s: %w", method, ctx.Err())
		}
		// A frame may be half written: the stream is unusable. Closing the
		// connection makes the reader fail everything on it and reconnect.
		conn.Close()
		return nil, nil, fmt.Errorf("sdk: %s: %w: %w", method, ErrDisconnected, err)
	}

	select {
	case res := <-p.ch:
		switch {
		case res.err != nil:
			return nil, nil, fmt.Errorf("sdk: %s: %w", method, res.err)
		case res.msg.Error != nil && res.msg.Error.Code == protocol.CodeRefused:
			return nil, nil, fmt.Errorf("sdk: %s: %w: %w", method, ErrRefused, res.msg.Error)
		case res.msg.Error != nil:
			return nil, nil, fmt.Errorf("sdk: %s: %w", method, res.msg.Error)
		}
		return res.msg.Result, res.waiter, nil
	case <-ctx.Done():
		c.forgetCall(id)
		// The response may have been handed over meanwhile; a waiter it
		// registered must not stay behind.
		select {
		case res := <-p.ch:
			if res.waiter != nil {
				c.forgetWaiter(res.waiter)
			}
		default:
		}
		return nil, nil, fmt.Errorf("sdk: %s: %w", method, ctx.Err())
	}
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

func (c *Client) forgetCall(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *Client) forgetWaiter(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for rid, x := range c.waiters {
		if x == w {
			delete(c.waiters, rid)
			return
		}
	}
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
