package agent

import (
	"sync"

	"github.com/iscdesk/iscdesk/agent/activity"
)

// Activity is the activity log: it keeps the most recent entries of the calls
// programs made, newest first, and tells subscribers (the window) about every
// change. It is safe for concurrent use.
type Activity struct {
	mu      sync.Mutex
	entries []activity.Entry // oldest first
	max     int
	subs    []func(activity.Entry)
}

// NewActivity keeps at most max entries (500 when max <= 0).
func NewActivity(max int) *Activity {
	if max <= 0 {
		max = 500
	}
	return &Activity{max: max}
}

// Subscribe calls f with every new or changed entry, outside the lock; f
// must not block for long.
func (a *Activity) Subscribe(f func(activity.Entry)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.subs = append(a.subs, f)
}

// Entries returns a copy, newest first.
func (a *Activity) Entries() []activity.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]activity.Entry, len(a.entries))
	for i, e := range a.entries {
		out[len(out)-1-i] = e
	}
	return out
}

// add records a new entry.
func (a *Activity) add(e activity.Entry) {
	a.mu.Lock()
	a.entries = append(a.entries, e)
	if len(a.entries) > a.max {
		a.entries = a.entries[len(a.entries)-a.max:]
	}
	subs := a.subs
	a.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
}

// update changes the entry with id (if it is still kept).
func (a *Activity) update(id string, change func(e *activity.Entry)) {
	a.mu.Lock()
	var changed activity.Entry
	found := false
	for i := len(a.entries) - 1; i >= 0; i-- {
		if a.entries[i].ID == id {
			change(&a.entries[i])
			changed, found = a.entries[i], true
			break
		}
	}
	subs := a.subs
	a.mu.Unlock()
	if found {
		for _, f := range subs {
			f(changed)
		}
	}
}
