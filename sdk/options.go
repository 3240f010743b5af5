package sdk

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

// Option configures Connect.
type Option func(*config)

// config holds everything a Client needs; each Client has its own, so one
// process can hold several clients (to different agents, in tests).
type config struct {
	socketPath string
	app        string
	version    string

	eventBuffer   int
	reconnectWait time.Duration

	// Unexported knobs: fixed for vendors, shortened by tests.
	backoffMin   time.Duration
	backoffMax   time.Duration
	frameTimeout time.Duration
	writeTimeout time.Duration
	helloTimeout time.Duration
}

func defaultConfig() config {
	return config{
		app:           defaultAppName(),
		version:       defaultAppVersion(),
		eventBuffer:   256,
		reconnectWait: 2 * time.Second,
		backoffMin:    50 * time.Millisecond,
		backoffMax:    2 * time.Second,
		frameTimeout:  5 * time.Second,
		writeTimeout:  5 * time.Second,
		helloTimeout:  5 * time.Second,
	}
}

// WithSocketPath connects to the agent at path instead of protocol.SocketPath().
func WithSocketPath(path string) Option {
	return func(c *config) { c.socketPath = path }
}

// WithApp names the program and its version in the hello. The agent shows
// the name in its activity log and uses the version for CheckNewVersions.
// The defaults are the executable's base name and the main module's version.
func WithApp(name, version string) Option {
	return func(c *config) { c.app, c.version = name, version }
}

// WithEventBuffer sets the capacity of the channel returned by Events
// (default 256). When the channel is full the oldest event is dropped (see
// Client.Events).
func WithEventBuffer(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.eventBuffer = n
		}
	}
}

// WithReconnectWait sets how long a call made while the client is
// reconnecting waits for the agent to come back before failing with
// ErrDisconnected (default 2s, enough for the desktop client to restart; 0
// fails at once). The call's context can end the wait earlier.
func WithReconnectWait(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.reconnectWait = d
		}
	}
}

// withBackoff bounds the delay between reconnect attempts.
func withBackoff(minDelay, maxDelay time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = minDelay, maxDelay }
}

// withFrameTimeout bounds how long the rest of a frame may take once its
// first byte has arrived.
func withFrameTimeout(d time.Duration) Option {
	return func(c *config) { c.frameTimeout = d }
}

func defaultAppName() string {
	if len(os.Args) == 0 {
		return ""
	}
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
}

func defaultAppVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}
