// Package upstream adapts the marketplace client (licensing/marketplace) to
// server.Marketplace, the interface the server's domain asks the marketplace
// through, and lets the caller observe each call (metrics).
package upstream

import (
	"context"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/licensing/marketplace"
	"github.com/iscdesk/iscdesk/server"
)

// Marketplace is a server.Marketplace over a marketplace client.
type Marketplace struct {
	Client *marketplace.Client
	// Observe, when set, is told about every call: its operation
	// ("activate", "query", "usage"), how long it took and its error.
	Observe func(op string, d time.Duration, err error)
}

var _ server.Marketplace = Marketplace{}

func (m Marketplace) observe(op string, start time.Time, err error) {
	if m.Observe != nil {
		m.Observe(op, time.Since(start), err)
	}
}

// Activate implements server.Marketplace.
func (m Marketplace) Activate(ctx context.Context, code string) (licensing.License, error) {
	start := time.Now()
	l, err := m.Client.Activate(ctx, code)
	m.observe("activate", start, err)
	return l, err
}

// Query implements server.Marketplace.
func (m Marketplace) Query(ctx context.Context, code string) (licensing.License, error) {
	start := time.Now()
	l, err := m.Client.Query(ctx, code)
	m.observe("query", start, err)
	return l, err
}

// ReportUsage implements server.Marketplace.
func (m Marketplace) ReportUsage(ctx context.Context, code string, ids []string, count int) error {
	start := time.Now()
	err := m.Client.ReportDailyUsage(ctx, code, ids, count)
	m.observe("usage", start, err)
	return err
}

// Uploader is a server.Uploader over a marketplace client: the device
// license goes up as CHARACTERS when it fits, else as the FILE license.jwt.
type Uploader struct {
	Client *marketplace.Client
	// Observe, when set, is told about every upload ("upload").
	Observe func(op string, d time.Duration, err error)
}

var _ server.Uploader = Uploader{}

// UploadFileName names the device license when it goes up as a FILE.
const UploadFileName = "license.jwt"

// Upload implements server.Uploader.
func (u Uploader) Upload(ctx context.Context, eventID string, content []byte) error {
	start := time.Now()
	err := u.Client.UploadEventFile(ctx, eventID, content, UploadFileName)
	if u.Observe != nil {
		u.Observe("upload", time.Since(start), err)
	}
	var ue *marketplace.UploadError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return &server.UploadError{Code: ue.Code, Message: ue.Message, Retryable: ue.Retryable}
	case !marketplace.IsUploadRetryable(err):
		return &server.UploadError{Code: errs.KindOf(err).Name(), Message: err.Error()}
	}
	return err
}
