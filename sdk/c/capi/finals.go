package capi

import (
	"sync"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
)

// DeliveryWait bounds how long a waiting call (iscdesk_save, …), once its
// final event arrived, waits for the callback to have been given that event
// too: the callback may be busy with earlier events. Within it, a program
// that shuts out right after a waiting call has seen every event of the call
// in its callback; a callback blocked for longer (say, on a lock the
// waiting thread holds) cannot deadlock the call.
const DeliveryWait = 2 * time.Second

// finalEvents are the events that end a call: the waiting forms return
// them.
var finalEvents = map[string]bool{
	protocol.EventLicenseVerify:  true,
	protocol.EventUpgradeNotice:  true,
	protocol.EventOpenFile:       true,
	protocol.EventSaveResult:     true,
	protocol.EventSolutionResult: true,
	protocol.EventSaveAsPath:     true,
}

// maxFinals bounds the final events remembered: a waiting call looks for
// its own right after it arrived, so only the latest few matter.
const maxFinals = 256

// finals remembers the final events the callback has been given.
type finals struct {
	mu      sync.Mutex
	events  []protocol.Event
	changed chan struct{} // closed and replaced at each add
	closed  bool
}

func (f *finals) add(e protocol.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) >= maxFinals {
		f.events = append(f.events[:0], f.events[1:]...)
	}
	f.events = append(f.events, e)
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

func (f *finals) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

// wait returns once an event matching is among the delivered ones, the
// handle shut out, or wait passed; it reports whether the event was found.
func (f *finals) wait(matching func(protocol.Event) bool, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		for _, e := range f.events {
			if matching(e) {
				f.mu.Unlock()
				return true
			}
		}
		if f.closed {
			f.mu.Unlock()
			return false
		}
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// delivered waits (DeliveryWait at most) until the callback has been given
// the final event matching, unless the calling thread is the callback's.
func (h *Handle) delivered(matching func(protocol.Event) bool) {
	if h.InCallback != nil && h.InCallback() {
		return
	}
	h.finals.wait(matching, DeliveryWait)
}

// sameRequest matches the final event e itself (by operate and request id).
func sameRequest(e protocol.Event) func(protocol.Event) bool {
	return func(d protocol.Event) bool { return d.Operate == e.Operate && d.RequestID() == e.RequestID() }
}
