package server

import (
	"context"
	"time"
)

// OfflineTx is what air-gapped activation adds to a seat transaction
// (SeatTx embeds it): the nonces of request files, remembered for as long
// as a request file may travel, so that a request is answered once.
type OfflineTx interface {
	// UseOfflineNonce records the nonce of an offline request in the seat
	// transaction: ErrReplay when it was recorded before (the caller then
	// rolls back, so a replay changes nothing). Nonces recorded before
	// before are forgotten.
	UseOfflineNonce(ctx context.Context, nonce, kind string, at, before time.Time) error
}
