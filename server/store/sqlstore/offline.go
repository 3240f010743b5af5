package sqlstore

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/iscdesk/iscdesk/server"
)

// UseOfflineNonce implements server.OfflineTx: one unique insert in the
// seat transaction, so two replicas answering the same request file at once
// record it once and the other rolls back.
func (t *seatTx) UseOfflineNonce(ctx context.Context, nonce, kind string, at, before time.Time) error {
	res, err := t.tx.ExecContext(ctx, t.s.q(`INSERT INTO offline_nonces (nonce, kind, seen_at) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`), nonce, kind, micros(at))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrReplay
	}
	// Forget expired nonces now and then: request files are rare, so one
	// call in 16.
	if rand.IntN(16) == 0 {
		_, err = t.tx.ExecContext(ctx, t.s.q(`DELETE FROM offline_nonces WHERE seen_at < ?`), micros(before))
	}
	return err
}
