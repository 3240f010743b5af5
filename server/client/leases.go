package client

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"strings"

	"github.com/iscdesk/iscdesk/server/wire"
)

// Lease takes a lease of the activation's floating code (with
// req.BorrowDays > 0, borrows one); req's Signed part is filled in here.
func (c *Client) Lease(ctx context.Context, activationID string, key ed25519.PrivateKey, req wire.LeaseRequest) (wire.LeaseAnswer, error) {
	req.Signed = c.signed(activationID)
	var out wire.LeaseAnswer
	err := c.signedPost(ctx, "lease", wire.PathLeases, key, req, &out)
	return out, err
}

// Heartbeat renews a lease with its secret.
func (c *Client) Heartbeat(ctx context.Context, leaseID, secret string) (wire.HeartbeatAnswer, error) {
	var out wire.HeartbeatAnswer
	return out, c.leasePost(ctx, "heartbeat", wire.LeasePath(wire.PathLeaseHeartbeat, leaseID), secret, &out)
}

// ReturnLease gives a lease back with its secret.
func (c *Client) ReturnLease(ctx context.Context, leaseID, secret string) error {
	var out struct{}
	return c.leasePost(ctx, "return lease", wire.LeasePath(wire.PathLeaseReturn, leaseID), secret, &out)
}

func (c *Client) leasePost(ctx context.Context, op, path, secret string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+path, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set(wire.LeaseSecretHeader, secret)
	return c.do(op, req, out)
}
