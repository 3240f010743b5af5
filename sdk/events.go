package sdk

import (
	"sync"
	"sync/atomic"

	"github.com/iscdesk/iscdesk/protocol"
)

// maxBacklog bounds the events waiting for a slow callback. Events are small
// (a few hundred bytes), so this is at most a few MiB even when a callback
// hangs for good; beyond it the oldest are dropped and counted.
const maxBacklog = 4096

// dispatcher delivers events to the callback and the channel on a goroutine
// of its own. The reader goroutine only appends to the backlog and never
// waits for the program: a callback that blocks, or that makes a synchronous
// call (which needs the reader to deliver its answer), cannot stall the
// connection.
type dispatcher struct {
	mu       sync.Mutex
	backlog  []protocol.Event
	callback func(protocol.Event)
	ch       chan protocol.Event // created by the first Events call
	chCap    int
	stopped  bool

	wake    chan struct{} // 1-buffered: "the backlog is not empty"
	stop    chan struct{}
	dropped atomic.Uint64
}

func newDispatcher(chCap int) *dispatcher {
	d := &dispatcher{chCap: chCap, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	go d.run()
	return d
}

// push queues e, dropping the oldest queued event when the backlog is full.
func (d *dispatcher) push(e protocol.Event) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	if len(d.backlog) >= maxBacklog {
		d.backlog[0] = protocol.Event{}
		d.backlog = d.backlog[1:]
		d.dropped.Add(1)
	}
	d.backlog = append(d.backlog, e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) setCallback(fn func(protocol.Event)) {
	d.mu.Lock()
	d.callback = fn
	d.mu.Unlock()
}

// events returns the channel, creating it on first use. A closed client gets
// a closed channel so that ranging over it ends.
func (d *dispatcher) events() <-chan protocol.Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan protocol.Event, d.chCap)
		if d.stopped {
			close(d.ch)
		}
	}
	return d.ch
}

// close stops delivery without waiting: it may be called from inside the
// callback. The run goroutine closes the channel on its way out, after
// which it never sends on it.
func (d *dispatcher) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	d.stopped = true
	d.backlog = nil
	close(d.stop)
}

func (d *dispatcher) run() {
	for {
		select {
		case <-d.stop:
			d.mu.Lock()
			if d.ch != nil {
				close(d.ch)
			}
			d.mu.Unlock()
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			if d.stopped || len(d.backlog) == 0 {
				d.mu.Unlock()
				break
			}
			e := d.backlog[0]
			d.backlog[0] = protocol.Event{}
			d.backlog = d.backlog[1:]
			cb, ch := d.callback, d.ch
			d.mu.Unlock()

			// No lock is held here: the callback may call any method of
			// the client, Close included.
			if cb != nil {
				cb(e)
			}
			if ch != nil {
				d.offer(ch, e)
			}
		}
	}
}

// offer puts e on ch, dropping the oldest buffered event while ch is full:
// a program that stopped reading keeps the most recent events, which are the
// ones that describe the current state.
func (d *dispatcher) offer(ch chan protocol.Event, e protocol.Event) {
	for {
		select {
		case ch <- e:
			return
		default:
		}
		select {
		case <-ch:
			d.dropped.Add(1)
		default:
		}
	}
}
