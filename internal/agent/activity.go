package agent

import (
	"sync"
	"time"
)

// Entry is one thing a connected program asked for, as the desktop app's
// Activity screen shows it.
type Entry struct {
	ID       string    // the request id
	Time     time.Time // when it was asked
	App      string    // the program's name from its hello
	Call     string    // the method
	Detail   string    // what it was about (a path, a fingerprint…)
	Status   string    // "running", "success" or "failed"
	Err      string    // why it failed
	Done     int64     // progress: bytes done of Total
	Total    int64     //
	Finished time.Time //
}

// Activity keeps the most recent entries, newest first, and tells
// subscribers about every change. It is safe for concurrent use.
type Activity struct {
	mu      sync.Mutex
	entries []Entry // oldest first
	max     int
	subs    []func(Entry)
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
func (a *Activity) Subscribe(f func(Entry)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.subs = append(a.subs, f)
}

// Entries returns a copy, newest first.
func (a *Activity) Entries() []Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Entry, len(a.entries))
	for i, e := range a.entries {
		out[len(out)-1-i] = e
	}
	return out
}

// add records a new entry.
func (a *Activity) add(e Entry) {
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
func (a *Activity) update(id string, change func(e *Entry)) {
	a.mu.Lock()
	var changed Entry
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
