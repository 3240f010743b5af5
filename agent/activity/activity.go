// Package activity holds what the agent records of the calls connected
// programs make, as value types the desktop app's Activity screen shows. It
// is apart from the agent so the window depends on these values, not on the
// server: it must import only the standard library.
package activity

import "time"

// Entry is one thing a connected program asked for.
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
