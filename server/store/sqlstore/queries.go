package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/server"
)

const codeColumns = `hash, code, status, product_id, order_id, amount, expire_at, activate_at, queried_at, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanCode(r scanner) (server.Code, error) {
	var c server.Code
	var status string
	var exp, act, queried, created int64
	if err := r.Scan(&c.Hash, &c.Code, &status, &c.ProductID, &c.OrderID, &c.Amount, &exp, &act, &queried, &created); err != nil {
		return server.Code{}, err
	}
	c.Status = licensing.Status(status)
	c.ExpireTime, c.ActivateTime, c.QueriedAt, c.CreatedAt = fromMicros(exp), fromMicros(act), fromMicros(queried), fromMicros(created)
	return c, nil
}

// Code implements server.Store.
func (s *Store) Code(ctx context.Context, hash string) (server.Code, error) {
	row, err := s.queryRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE hash = ?`, hash)
	if err != nil {
		return server.Code{}, err
	}
	c, err := scanCode(row)
	if errors.Is(err, sql.ErrNoRows) {
		return server.Code{}, server.ErrNotFound
	}
	return c, err
}

// PutCode implements server.Store.
func (s *Store) PutCode(ctx context.Context, c server.Code) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO UPDATE SET code = excluded.code, status = excluded.status,
			product_id = CASE WHEN excluded.product_id <> '' THEN excluded.product_id ELSE codes.product_id END,
			order_id = CASE WHEN excluded.order_id <> '' THEN excluded.order_id ELSE codes.order_id END,
			amount = CASE WHEN excluded.amount > 0 THEN excluded.amount ELSE codes.amount END,
			expire_at = excluded.expire_at, activate_at = excluded.activate_at, queried_at = excluded.queried_at`),
			c.Hash, c.Code, string(c.Status), c.ProductID, c.OrderID, c.Amount,
			micros(c.ExpireTime), micros(c.ActivateTime), micros(c.QueriedAt), micros(c.CreatedAt))
		return err
	})
}

// Codes implements server.Store.
func (s *Store) Codes(ctx context.Context) ([]server.CodeCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+prefixed("c.", codeColumns)+`,
		(SELECT count(*) FROM activations a WHERE a.code_hash = c.hash AND a.state = ?)
		FROM codes c ORDER BY c.created_at, c.hash`), string(server.StateActive))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []server.CodeCount
	for rows.Next() {
		var n int
		c, err := scanCode(scanPlus{rows, &n})
		if err != nil {
			return nil, err
		}
		out = append(out, server.CodeCount{Code: c, Bound: n})
	}
	return out, rows.Err()
}

// prefixed qualifies each column of a list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// scanPlus scans a row's leading columns with a scanner and the last one
// into extra.
type scanPlus struct {
	r     scanner
	extra any
}

func (p scanPlus) Scan(dest ...any) error { return p.r.Scan(append(dest, p.extra)...) }

const activationColumns = `id, code_hash, request_id, fingerprint, machine_id, device_key, host, app, version, state,
	created_at, last_check_at, ended_at, end_note`

func scanActivation(r scanner) (server.Activation, error) {
	var a server.Activation
	var key, state string
	var created, checked, ended int64
	if err := r.Scan(&a.ID, &a.CodeHash, &a.RequestID, &a.Fingerprint, &a.MachineID, &key, &a.Host, &a.App, &a.Version, &state,
		&created, &checked, &ended, &a.EndNote); err != nil {
		return server.Activation{}, err
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return server.Activation{}, fmt.Errorf("activation %s: device key: %w", a.ID, err)
	}
	a.DeviceKey, a.State = raw, server.State(state)
	a.CreatedAt, a.LastCheckAt, a.EndedAt = fromMicros(created), fromMicros(checked), fromMicros(ended)
	return a, nil
}

// Activation implements server.Store.
func (s *Store) Activation(ctx context.Context, id string) (server.Activation, error) {
	row, err := s.queryRow(ctx, `SELECT `+activationColumns+` FROM activations WHERE id = ?`, id)
	if err != nil {
		return server.Activation{}, err
	}
	a, err := scanActivation(row)
	if errors.Is(err, sql.ErrNoRows) {
		return server.Activation{}, server.ErrNotFound
	}
	return a, err
}

// Activations implements server.Store.
func (s *Store) Activations(ctx context.Context, codeHash string) ([]server.Activation, error) {
	query, args := `SELECT `+activationColumns+` FROM activations ORDER BY created_at DESC, id`, []any(nil)
	if codeHash != "" {
		query = s.q(`SELECT ` + activationColumns + ` FROM activations WHERE code_hash = ? ORDER BY created_at DESC, id`)
		args = []any{codeHash}
	}
	return s.queryActivations(ctx, s.db, query, args...)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) queryActivations(ctx context.Context, db querier, query string, args ...any) ([]server.Activation, error) {
	return queryAll(ctx, db, scanActivation, query, args...)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Seats implements server.Store.
func (s *Store) Seats(ctx context.Context, codeHash string, fn func(server.SeatTx) error) error {
	return s.lockCode(ctx, codeHash, func(tx *sql.Tx, c server.Code) error {
		return fn(&seatTx{s: s, tx: tx, hash: codeHash, code: c})
	})
}

// lockCode runs fn in a write transaction holding the lock of the code:
// on PostgreSQL its row (FOR UPDATE), on SQLite the database's write lock.
func (s *Store) lockCode(ctx context.Context, codeHash string, fn func(tx *sql.Tx, c server.Code) error) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		lockSQL := `SELECT ` + codeColumns + ` FROM codes WHERE hash = ?`
		if s.dialect == Postgres {
			lockSQL += ` FOR UPDATE`
		}
		c, err := scanCode(tx.QueryRowContext(ctx, s.q(lockSQL), codeHash))
		if errors.Is(err, sql.ErrNoRows) {
			return server.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fn(tx, c)
	})
}

type seatTx struct {
	s    *Store
	tx   *sql.Tx
	hash string
	code server.Code
}

func (t *seatTx) Code() server.Code { return t.code }

const activeOfCode = `SELECT ` + activationColumns + ` FROM activations WHERE code_hash = ? AND state = ?`

func (t *seatTx) Count(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, t.s.q(`SELECT count(*) FROM activations WHERE code_hash = ? AND state = ?`),
		t.hash, string(server.StateActive)).Scan(&n)
	return n, err
}

func (t *seatTx) ByRequest(ctx context.Context, requestID string) (server.Activation, bool, error) {
	list, err := t.s.queryActivations(ctx, t.tx, t.s.q(activeOfCode+` AND request_id = ? ORDER BY created_at, id`),
		t.hash, string(server.StateActive), requestID)
	if err != nil || len(list) == 0 {
		return server.Activation{}, false, err
	}
	return list[0], true, nil
}

func (t *seatTx) Candidates(ctx context.Context, c devinfo.Components) ([]server.Activation, error) {
	// Each term names the whole primary key (code, part, value), so both
	// databases look each one up in the index (SQLite's MULTI-INDEX OR,
	// PostgreSQL's BitmapOr); with the code outside the OR, SQLite walked
	// every part of the code.
	parts := lookupParts(c)
	if len(parts) == 0 {
		return nil, nil // no unit part: the same machine as nothing
	}
	var cond []string
	var args []any
	for _, p := range parts {
		cond = append(cond, `(p.code_hash = ? AND p.part = ? AND p.value = ?)`)
		args = append(args, t.hash, p[0], p[1])
	}
	args = append(args, string(server.StateActive))
	return t.s.queryActivations(ctx, t.tx, t.s.q(`SELECT `+prefixed("a.", activationColumns)+` FROM activations a
		WHERE a.id IN (SELECT p.activation_id FROM activation_parts p WHERE `+strings.Join(cond, " OR ")+`)
		AND a.state = ? ORDER BY a.created_at, a.id`), args...)
}

func (t *seatTx) Oldest(ctx context.Context, n int) ([]server.Activation, error) {
	return t.s.queryActivations(ctx, t.tx, t.s.q(activeOfCode+` ORDER BY created_at, id LIMIT ?`),
		t.hash, string(server.StateActive), n)
}

func (t *seatTx) Get(ctx context.Context, id string) (server.Activation, error) {
	list, err := t.s.queryActivations(ctx, t.tx, t.s.q(`SELECT `+activationColumns+` FROM activations
		WHERE id = ? AND code_hash = ?`), id, t.hash)
	if err != nil {
		return server.Activation{}, err
	}
	if len(list) == 0 {
		return server.Activation{}, server.ErrNotFound
	}
	return list[0], nil
}

func (t *seatTx) Insert(ctx context.Context, a server.Activation) error {
	if a.CodeHash != t.hash {
		return errors.New("sqlstore: activation of another code inserted under a code's lock")
	}
	_, err := t.tx.ExecContext(ctx, t.s.q(`INSERT INTO activations (`+activationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.CodeHash, a.RequestID, a.Fingerprint, a.MachineID, base64.StdEncoding.EncodeToString(a.DeviceKey),
		a.Host, a.App, a.Version, string(a.State), micros(a.CreatedAt), micros(a.LastCheckAt), micros(a.EndedAt), a.EndNote)
	if err != nil {
		return err
	}
	return t.indexParts(ctx, a)
}

func (t *seatTx) Update(ctx context.Context, a server.Activation) error {
	res, err := t.tx.ExecContext(ctx, t.s.q(`UPDATE activations SET fingerprint = ?, machine_id = ?, device_key = ?, host = ?, app = ?,
		version = ?, state = ?, last_check_at = ?, ended_at = ?, end_note = ? WHERE id = ? AND code_hash = ?`),
		a.Fingerprint, a.MachineID, base64.StdEncoding.EncodeToString(a.DeviceKey), a.Host, a.App, a.Version, string(a.State),
		micros(a.LastCheckAt), micros(a.EndedAt), a.EndNote, a.ID, t.hash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return server.ErrNotFound
	}
	if _, err := t.tx.ExecContext(ctx, t.s.q(`DELETE FROM activation_parts WHERE activation_id = ?`), a.ID); err != nil {
		return err
	}
	return t.indexParts(ctx, a)
}

// indexParts records the part values of an active activation.
func (t *seatTx) indexParts(ctx context.Context, a server.Activation) error {
	if a.State != server.StateActive {
		return nil
	}
	return t.s.insertParts(ctx, t.tx, a.ID, a.CodeHash, a.Fingerprint)
}

func (s *Store) insertParts(ctx context.Context, tx *sql.Tx, id, codeHash, fingerprint string) error {
	c, err := devinfo.Parse(fingerprint)
	if err != nil {
		return fmt.Errorf("activation %s: %w", id, err)
	}
	for _, p := range storedParts(c) {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO activation_parts (code_hash, part, value, activation_id)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), codeHash, p[0], p[1], id); err != nil {
			return err
		}
	}
	return nil
}

// backfillParts indexes the active activations that have no part rows:
// those made before migration 2. Idempotent; after the first run it finds
// only activations whose fingerprint has no unit part (none are made now).
func (s *Store) backfillParts(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, code_hash, fingerprint FROM activations a WHERE state = ?
			AND NOT EXISTS (SELECT 1 FROM activation_parts p WHERE p.activation_id = a.id)`), string(server.StateActive))
		if err != nil {
			return err
		}
		var todo [][3]string
		for rows.Next() {
			var r [3]string
			if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range todo {
			if err := s.insertParts(ctx, tx, r[0], r[1], r[2]); err != nil {
				return err
			}
		}
		return nil
	})
}

// storedParts are the index rows of a stored fingerprint, and lookupParts
// those a new one looks for: its unit parts (each MAC, each disk, the
// board). devinfo.Compare finds the same machine only where a unit part of
// the stored fingerprint matches (equal, or lists sharing a value), so a
// same machine always shares one of these; the CPU, a model shared by a
// whole fleet, never decides and is not indexed.
func storedParts(c devinfo.Components) [][2]string { return valueParts(c) }

func lookupParts(c devinfo.Components) [][2]string { return valueParts(c) }

func valueParts(c devinfo.Components) [][2]string {
	var rows [][2]string
	for _, v := range c.MAC {
		rows = append(rows, [2]string{"mac", v})
	}
	for _, v := range c.Disk {
		rows = append(rows, [2]string{"disk", v})
	}
	if c.Board != "" {
		rows = append(rows, [2]string{"board", c.Board})
	}
	return rows
}

// Checked implements server.Store. The state condition keeps a check that
// raced a deactivation from bringing nothing back to life (it only touches
// an active row).
func (s *Store) Checked(ctx context.Context, a server.Activation, nonce string, at, before time.Time) error {
	day := at.UTC().Format(time.DateOnly)
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := s.useNonce(ctx, tx, a.ID, nonce, at, before); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE activations SET last_check_at = ?
			WHERE id = ? AND state = ?`), micros(at), a.ID, string(server.StateActive)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO usage_days (code_hash, day, activation_id) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`), a.CodeHash, day, a.ID)
		return err
	})
}

// UseNonce implements server.Store.
func (s *Store) UseNonce(ctx context.Context, activationID, nonce string, at, before time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.useNonce(ctx, tx, activationID, nonce, at, before) })
}

func (s *Store) useNonce(ctx context.Context, tx *sql.Tx, activationID, nonce string, at, before time.Time) error {
	return s.recordNonce(ctx, tx, `INSERT INTO nonces (activation_id, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		[]any{activationID, nonce, micros(at)}, `DELETE FROM nonces WHERE seen_at < ?`, before)
}

// recordNonce runs insert (an INSERT … ON CONFLICT DO NOTHING of a nonce):
// server.ErrReplay when it inserted nothing. Now and then (one call in 64,
// at random) it runs forget with before, so the table stays small without a
// job.
func (s *Store) recordNonce(ctx context.Context, tx *sql.Tx, insert string, args []any, forget string, before time.Time) error {
	res, err := tx.ExecContext(ctx, s.q(insert), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return server.ErrReplay
	}
	if rand.IntN(64) == 0 {
		_, err = tx.ExecContext(ctx, s.q(forget), micros(before))
	}
	return err
}

// PendingUsage implements server.Store.
func (s *Store) PendingUsage(ctx context.Context, day string) ([]server.Usage, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT u.code_hash, u.day, u.activation_id, c.code, c.product_id
		FROM usage_days u JOIN codes c ON c.hash = u.code_hash
		LEFT JOIN usage_reports r ON r.code_hash = u.code_hash AND r.day = u.day
		WHERE u.day < ? AND r.code_hash IS NULL
		ORDER BY u.day, u.code_hash, u.activation_id`), day)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []server.Usage
	for rows.Next() {
		var hash, d, id, code, product string
		if err := rows.Scan(&hash, &d, &id, &code, &product); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].CodeHash != hash || out[n-1].Day != d {
			out = append(out, server.Usage{CodeHash: hash, Day: d, Code: code, ProductID: product})
		}
		out[len(out)-1].Activations = append(out[len(out)-1].Activations, id)
	}
	return out, rows.Err()
}

// MarkReported implements server.Store.
func (s *Store) MarkReported(ctx context.Context, codeHash, day string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO usage_reports (code_hash, day, reported_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`), codeHash, day, micros(at)); err != nil {
			return err
		}
		// The day's devices are reported: their rows (one per device and
		// day, a million a day for a million devices) go.
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM usage_days WHERE code_hash = ? AND day = ?`), codeHash, day)
		return err
	})
}

// ClaimUpstream implements server.Store.
func (s *Store) ClaimUpstream(ctx context.Context, hash string, now, staleBefore time.Time) (bool, error) {
	var claimed bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO upstream_claims (hash, claimed_at) VALUES (?, ?)
			ON CONFLICT (hash) DO UPDATE SET claimed_at = excluded.claimed_at
			WHERE upstream_claims.claimed_at < ?`), hash, micros(now), micros(staleBefore))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// ReleaseUpstream implements server.Store.
func (s *Store) ReleaseUpstream(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM upstream_claims WHERE hash = ?`), hash)
		return err
	})
}
