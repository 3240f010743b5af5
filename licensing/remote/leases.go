package remote

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server/wire"
)

var _ licensing.Leaser = Server{}

// TakeLease implements licensing.Leaser.
func (s Server) TakeLease(ctx context.Context, activationID string, key ed25519.PrivateKey, req licensing.LeaseRequest) (licensing.Lease, error) {
	a, err := s.c.Lease(ctx, activationID, key, wire.LeaseRequest{RequestID: req.RequestID, App: req.App, BorrowDays: req.BorrowDays,
		DevInfo: req.DevInfo, Machine: req.Machine})
	if err != nil {
		return licensing.Lease{}, refusal(err)
	}
	return licensing.Lease{ID: a.LeaseID, Secret: a.Secret, EndsAt: a.EndsAt, Heartbeat: time.Duration(a.HeartbeatSeconds) * time.Second,
		TTL: time.Duration(a.TTLSeconds) * time.Second, BorrowedUntil: a.BorrowedUntil, License: a.License}, nil
}

// Heartbeat implements licensing.Leaser.
func (s Server) Heartbeat(ctx context.Context, l licensing.Lease) (time.Time, error) {
	a, err := s.c.Heartbeat(ctx, l.ID, l.Secret)
	return a.EndsAt, refusal(err)
}

// ReturnLease implements licensing.Leaser.
func (s Server) ReturnLease(ctx context.Context, l licensing.Lease) error {
	return refusal(s.c.ReturnLease(ctx, l.ID, l.Secret))
}
