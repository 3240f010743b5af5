//go:build cgo

package main

import (
	"context"
	"errors"
	"sync"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/wiring"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/ui"
)

// The window drives the process's one license service and the wiring's
// settings and device; only the cloud drive's list needs an adapter of its
// own.

var (
	_ ui.Licenses   = (*licensing.Service)(nil)
	_ ui.Device     = wiring.Device{}
	_ ui.Settings   = wiring.UserSettings{}
	_ ui.CloudFiles = (*guiCloud)(nil)
)

// guiCloud lists the agent's cloud drive once the agent is built (in the
// background, after the window shows).
type guiCloud struct {
	mu      sync.Mutex
	storage agent.Storage
}

func (c *guiCloud) set(s agent.Storage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storage = s
}

func (c *guiCloud) List(ctx context.Context) ([]clouddrive.File, error) {
	c.mu.Lock()
	s := c.storage
	c.mu.Unlock()
	if s == nil {
		return nil, errs.E("cloud drive", errs.Unavailable, errors.New("the cloud drive is not available: see the agent's error on standard error"))
	}
	return s.List(ctx)
}
