package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

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
