package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
)

// The server.CallbackStore half of Store.

// UseCallbackNonce implements server.CallbackStore: the primary key makes
// the insert of a nonce seen before do nothing, whichever process saw it.
func (s *Store) UseCallbackNonce(ctx context.Context, nonce string, at, before time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.recordNonce(ctx, tx, `INSERT INTO callback_nonces (nonce, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			[]any{nonce, micros(at)}, `DELETE FROM callback_nonces WHERE seen_at < ?`, before)
	})
}

// ApplyCodeEvent implements server.CallbackStore.
func (s *Store) ApplyCodeEvent(ctx context.Context, ev server.CodeEvent) (bool, error) {
	applied := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO callback_events (event_key, activity, code_hash, applied_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), ev.Key, ev.Activity, ev.Hash, micros(ev.At))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // applied before
		}
		applied = true
		released := string(licensing.StatusReleased)
		if ev.Status == licensing.StatusReleased {
			// The expiry stays; a code not seen before is recorded released.
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, ?)
				ON CONFLICT (hash) DO UPDATE SET status = excluded.status,
				product_id = CASE WHEN excluded.product_id <> '' THEN excluded.product_id ELSE codes.product_id END,
				order_id = CASE WHEN excluded.order_id <> '' THEN excluded.order_id ELSE codes.order_id END`),
				ev.Hash, ev.Code, released, ev.ProductID, ev.OrderID, micros(ev.At))
			return err
		}
		// A refresh: the new expiry, and the status it gives unless the code
		// was released (final). A known code counts as just answered about
		// (queried_at); one not seen before is recorded never asked (0), so
		// its first activation still goes to the marketplace.
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0, ?)
			ON CONFLICT (hash) DO UPDATE SET expire_at = excluded.expire_at,
			status = CASE WHEN codes.status = ? THEN codes.status ELSE excluded.status END,
			product_id = CASE WHEN excluded.product_id <> '' THEN excluded.product_id ELSE codes.product_id END,
			order_id = CASE WHEN excluded.order_id <> '' THEN excluded.order_id ELSE codes.order_id END,
			queried_at = CASE WHEN codes.queried_at <> 0 THEN CAST(? AS BIGINT) ELSE 0 END`),
			ev.Hash, ev.Code, string(ev.Status), ev.ProductID, ev.OrderID, micros(ev.ExpireTime), micros(ev.At),
			released, micros(ev.At))
		return err
	})
	return applied, err
}

const asyncColumns = `event_id, fingerprint, instance_id, product_id, test_flag, token, created_at,
	state, attempts, next_at, last_code, last_error, delivered_at, lease_owner, lease_until`

func scanAsync(r scanner) (server.AsyncLicense, error) {
	var l server.AsyncLicense
	var state string
	var created, next, delivered, until int64
	if err := r.Scan(&l.EventID, &l.Fingerprint, &l.InstanceID, &l.ProductID, &l.TestFlag, &l.Token, &created,
		&state, &l.Attempts, &next, &l.LastCode, &l.LastError, &delivered, &l.LeaseOwner, &until); err != nil {
		return server.AsyncLicense{}, err
	}
	l.State, l.CreatedAt, l.NextAt, l.DeliveredAt = server.UploadState(state), fromMicros(created), fromMicros(next), fromMicros(delivered)
	l.LeaseUntil = fromMicros(until)
	return l, nil
}

// AsyncLicense implements server.CallbackStore.
func (s *Store) AsyncLicense(ctx context.Context, eventID, fingerprint string) (server.AsyncLicense, error) {
	return s.asyncLicense(ctx, s.db, eventID, fingerprint)
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) asyncLicense(ctx context.Context, db rowQuerier, eventID, fingerprint string) (server.AsyncLicense, error) {
	l, err := scanAsync(db.QueryRowContext(ctx, s.q(`SELECT `+asyncColumns+` FROM async_licenses
		WHERE event_id = ? AND fingerprint = ?`), eventID, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return server.AsyncLicense{}, server.ErrNotFound
	}
	return l, err
}

// PutAsyncLicense implements server.CallbackStore. The instance's row is
// upserted first: on PostgreSQL that locks it until the commit, so two
// processes licensing new devices of one instance count one after the
// other; SQLite's write lock does the same.
func (s *Store) PutAsyncLicense(ctx context.Context, l server.AsyncLicense, quota int) (server.AsyncLicense, error) {
	var out server.AsyncLicense
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO async_instances (instance_id, updated_at) VALUES (?, ?)
			ON CONFLICT (instance_id) DO UPDATE SET updated_at = excluded.updated_at`), l.InstanceID, micros(l.CreatedAt)); err != nil {
			return err
		}
		prev, err := s.asyncLicense(ctx, tx, l.EventID, l.Fingerprint)
		if err == nil {
			out = prev
			return nil
		}
		if !errors.Is(err, server.ErrNotFound) {
			return err
		}
		if quota > 0 {
			var known, devices int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM async_licenses WHERE instance_id = ? AND fingerprint = ?`),
				l.InstanceID, l.Fingerprint).Scan(&known); err != nil {
				return err
			}
			if known == 0 {
				if err := tx.QueryRowContext(ctx, s.q(`SELECT count(DISTINCT fingerprint) FROM async_licenses WHERE instance_id = ?`),
					l.InstanceID).Scan(&devices); err != nil {
					return err
				}
				if devices >= quota {
					return server.ErrNoQuota
				}
			}
		}
		l.State, l.Attempts, l.NextAt = server.UploadPending, 0, l.CreatedAt
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO async_licenses (`+asyncColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', '', 0, ?, ?)`),
			l.EventID, l.Fingerprint, l.InstanceID, l.ProductID, l.TestFlag, l.Token, micros(l.CreatedAt),
			string(l.State), micros(l.NextAt), l.LeaseOwner, micros(l.LeaseUntil)); err != nil {
			return err
		}
		out = l
		return nil
	})
	return out, err
}

// ClaimUploads implements server.CallbackStore. Each row is taken by a
// conditional update (its lease free or lapsed): of two processes claiming
// one row at once, the second updates nothing (PostgreSQL re-reads the
// condition after the first's commit), so each upload has one holder.
func (s *Store) ClaimUploads(ctx context.Context, owner string, now, until time.Time, n int, eventID, fingerprint string) ([]server.AsyncLicense, error) {
	query := `SELECT ` + asyncColumns + ` FROM async_licenses WHERE state = ? AND next_at <= ? AND lease_until <= ?`
	args := []any{string(server.UploadPending), micros(now), micros(now)}
	if eventID != "" {
		query += ` AND event_id = ? AND fingerprint = ?`
		args = append(args, eventID, fingerprint)
	}
	query += ` ORDER BY next_at, event_id LIMIT ?`
	args = append(args, n)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	var due []server.AsyncLicense
	for rows.Next() {
		l, err := scanAsync(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		due = append(due, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []server.AsyncLicense
	for _, l := range due {
		l.LeaseOwner, l.LeaseUntil = owner, until
		var took bool
		err := s.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE async_licenses SET lease_owner = ?, lease_until = ?
				WHERE event_id = ? AND fingerprint = ? AND state = ? AND lease_until <= ?`),
				owner, micros(until), l.EventID, l.Fingerprint, string(server.UploadPending), micros(now))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			took = n == 1
			return err
		})
		if err != nil {
			return out, err
		}
		if took {
			out = append(out, l)
		}
	}
	return out, nil
}

// FinishUpload implements server.CallbackStore.
func (s *Store) FinishUpload(ctx context.Context, owner string, r server.UploadResult) (bool, error) {
	var ok bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var delivered int64
		if r.State == server.UploadDone {
			delivered = micros(r.At)
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE async_licenses SET state = ?, attempts = attempts + 1, next_at = ?,
			last_code = ?, last_error = ?, delivered_at = ?, lease_owner = '', lease_until = 0
			WHERE event_id = ? AND fingerprint = ? AND lease_owner = ? AND state = ?`),
			string(r.State), micros(r.NextAt), r.Code, truncate(r.Error, 500), delivered,
			r.EventID, r.Fingerprint, owner, string(server.UploadPending))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

// UploadCounts implements server.CallbackStore.
func (s *Store) UploadCounts(ctx context.Context) (map[server.UploadState]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM async_licenses GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[server.UploadState]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[server.UploadState(st)] = n
	}
	return out, rows.Err()
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
