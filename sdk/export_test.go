package sdk

// Knobs and views for the tests in package sdk_test.

var (
	WithBackoff      = withBackoff
	WithFrameTimeout = withFrameTimeout
	ParseSaveAsPath  = parseSaveAsPath
)

// Waiting counts the calls waiting for a response and the helpers waiting
// for a final event: both must be back to zero after a call gives up.
func (c *Client) Waiting() (pending, waiters int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending), len(c.waiters)
}
