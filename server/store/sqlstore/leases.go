package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
)

// The leases of floating codes (server.LeaseStore). Taking a lease holds the
// code's lock, the one Seats takes; a heartbeat is one UPDATE that checks
// the secret, the lease, its activation and its code in its WHERE clause.

const leaseColumns = `id, code_hash, activation_id, request_id, host, app, secret_hash, created_at, renewed_at, ends_at,
	borrowed_until, state, ended_at`

func scanLease(r scanner) (server.Lease, error) {
	var l server.Lease
	var state string
	var created, renewed, ends, borrowed, ended int64
	if err := r.Scan(&l.ID, &l.CodeHash, &l.ActivationID, &l.RequestID, &l.Host, &l.App, &l.SecretHash,
		&created, &renewed, &ends, &borrowed, &state, &ended); err != nil {
		return server.Lease{}, err
	}
	l.State = server.LeaseState(state)
	l.CreatedAt, l.RenewedAt, l.EndsAt = fromMicros(created), fromMicros(renewed), fromMicros(ends)
	l.BorrowedUntil, l.EndedAt = fromMicros(borrowed), fromMicros(ended)
	return l, nil
}

func (s *Store) queryLeases(ctx context.Context, db querier, query string, args ...any) ([]server.Lease, error) {
	return queryAll(ctx, db, scanLease, query, args...)
}

// Leases implements server.LeaseStore.
func (s *Store) Leases(ctx context.Context, codeHash string, fn func(server.LeaseTx) error) error {
	return s.lockCode(ctx, codeHash, func(tx *sql.Tx, c server.Code) error {
		return fn(&leaseTx{s: s, tx: tx, hash: codeHash, code: c})
	})
}

type leaseTx struct {
	s    *Store
	tx   *sql.Tx
	hash string
	code server.Code
}

func (t *leaseTx) Code() server.Code { return t.code }

const heldOfCode = ` FROM leases WHERE code_hash = ? AND state = ? AND ends_at > ?`

func (t *leaseTx) Held(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, t.s.q(`SELECT count(*)`+heldOfCode), t.hash, string(server.LeaseActive), micros(now)).Scan(&n)
	return n, err
}

func (t *leaseTx) Holders(ctx context.Context, now time.Time, n int) ([]server.Lease, error) {
	return t.s.queryLeases(ctx, t.tx, t.s.q(`SELECT `+leaseColumns+heldOfCode+` ORDER BY ends_at, id LIMIT ?`),
		t.hash, string(server.LeaseActive), micros(now), n)
}

func (t *leaseTx) ByRequest(ctx context.Context, activationID, requestID string, now time.Time) (server.Lease, bool, error) {
	list, err := t.s.queryLeases(ctx, t.tx, t.s.q(`SELECT `+leaseColumns+` FROM leases
		WHERE activation_id = ? AND request_id = ? AND state = ? AND ends_at > ?`),
		activationID, requestID, string(server.LeaseActive), micros(now))
	if err != nil || len(list) == 0 {
		return server.Lease{}, false, err
	}
	return list[0], true, nil
}

func (t *leaseTx) Insert(ctx context.Context, l server.Lease) error {
	_, err := t.tx.ExecContext(ctx, t.s.q(`INSERT INTO leases (`+leaseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		l.ID, l.CodeHash, l.ActivationID, l.RequestID, l.Host, l.App, l.SecretHash, micros(l.CreatedAt), micros(l.RenewedAt),
		micros(l.EndsAt), micros(l.BorrowedUntil), string(l.State), micros(l.EndedAt))
	return err
}

func (t *leaseTx) Update(ctx context.Context, l server.Lease) error {
	_, err := t.tx.ExecContext(ctx, t.s.q(`UPDATE leases SET secret_hash = ?, renewed_at = ?, ends_at = ?, borrowed_until = ?,
		state = ?, ended_at = ? WHERE id = ? AND code_hash = ?`),
		l.SecretHash, micros(l.RenewedAt), micros(l.EndsAt), micros(l.BorrowedUntil), string(l.State), micros(l.EndedAt), l.ID, t.hash)
	return err
}

// Lease implements server.LeaseStore.
func (s *Store) Lease(ctx context.Context, id string) (server.Lease, error) {
	row, err := s.queryRow(ctx, `SELECT `+leaseColumns+` FROM leases WHERE id = ?`, id)
	if err != nil {
		return server.Lease{}, err
	}
	l, err := scanLease(row)
	if errors.Is(err, sql.ErrNoRows) {
		return server.Lease{}, server.ErrNotFound
	}
	return l, err
}

// LeasesOfCode implements server.LeaseStore.
func (s *Store) LeasesOfCode(ctx context.Context, codeHash string, now time.Time) ([]server.Lease, error) {
	return s.queryLeases(ctx, s.db, s.q(`SELECT `+leaseColumns+heldOfCode+` ORDER BY ends_at, id`),
		codeHash, string(server.LeaseActive), micros(now))
}

// HeldLeases implements server.LeaseStore.
func (s *Store) HeldLeases(ctx context.Context, now time.Time) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT code_hash, count(*) FROM leases WHERE state = ? AND ends_at > ? GROUP BY code_hash`),
		string(server.LeaseActive), micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var hash string
		var n int
		if err := rows.Scan(&hash, &n); err != nil {
			return nil, err
		}
		out[hash] = n
	}
	return out, rows.Err()
}

// heartbeatSQL renews a lease held at now whose activation holds its seat
// and whose code is alive and unexpired: three primary-key lookups and one
// row written.
const heartbeatSQL = `UPDATE leases SET renewed_at = ?, ends_at = ?
	WHERE id = ? AND secret_hash = ? AND state = ? AND ends_at > ? AND borrowed_until = 0
	AND EXISTS (SELECT 1 FROM activations a WHERE a.id = leases.activation_id AND a.state = ?)
	AND EXISTS (SELECT 1 FROM codes c WHERE c.hash = leases.code_hash AND c.status = ? AND (c.expire_at = 0 OR c.expire_at > ?))`

// Heartbeat implements server.LeaseStore. It is the hot path: a prepared
// statement, no transaction of its own beyond the statement's.
func (s *Store) Heartbeat(ctx context.Context, id, secretHash string, now, until time.Time) (bool, error) {
	var res sql.Result
	err := s.writeStmt(ctx, heartbeatSQL, func(st *sql.Stmt) (err error) {
		res, err = st.ExecContext(ctx, micros(now), micros(until), id, secretHash, string(server.LeaseActive), micros(now),
			string(server.StateActive), string(aliveStatus), micros(now))
		return err
	})
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EndLease implements server.LeaseStore.
func (s *Store) EndLease(ctx context.Context, id string, state server.LeaseState, at time.Time) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE leases SET state = ?, ended_at = ? WHERE id = ? AND state = ?`),
			string(state), micros(at), id, string(server.LeaseActive))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// EndLeasesOf implements server.LeaseStore.
func (s *Store) EndLeasesOf(ctx context.Context, activationID string, state server.LeaseState, at time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE leases SET state = ?, ended_at = ? WHERE activation_id = ? AND state = ?`),
			string(state), micros(at), activationID, string(server.LeaseActive))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// ReapLeases implements server.LeaseStore.
func (s *Store) ReapLeases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE leases SET state = ?, ended_at = ends_at WHERE state = ? AND ends_at <= ?`),
			string(server.LeaseExpired), string(server.LeaseActive), micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const aliveStatus = licensing.StatusAlive

// writeStmt runs one prepared write statement outside a transaction,
// queued behind this process's other SQLite writers.
func (s *Store) writeStmt(ctx context.Context, query string, fn func(*sql.Stmt) error) error {
	st, err := s.stmt(ctx, s.q(query))
	if err != nil {
		return err
	}
	if s.writeMu != nil {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	return fn(st)
}
