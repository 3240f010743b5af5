// Package sqlstore is the server.Store over database/sql, one implementation
// for two databases: SQLite (modernc.org/sqlite, pure Go: the default, one
// file) and PostgreSQL (pgx's database/sql driver: production, several
// server processes on one database). The schema is a series of numbered SQL
// files embedded in the binary (migrations/), applied by goose at Open and by
// `iscdesk-server migrate`; the SQL is portable, with '?' placeholders
// rewritten for PostgreSQL.
//
// Seat changes of a code are serialised by Seats: on PostgreSQL a row lock
// on the code (SELECT … FOR UPDATE) inside the transaction, so two servers
// on one database never bind the same seat twice; on SQLite every write
// transaction is BEGIN IMMEDIATE (the database's write lock), and the
// process's writers queue on a mutex rather than on SQLite's busy handler,
// which sleeps.
//
// It imports package server (the types it stores) and no HTTP.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/iscdesk/iscdesk/server"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is the database kind.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a server.Store on a database/sql pool.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// writeMu queues this process's SQLite writers (nil on PostgreSQL).
	writeMu *sync.Mutex
	// stmts caches the prepared statements of the hot reads (a check):
	// parsing SQL again for every call cost a tenth of a check's CPU.
	// (Prepared statements inside transactions, through Tx.StmtContext,
	// made checks slower on SQLite: they are not used.)
	stmts sync.Map // query → *sql.Stmt
}

var _ server.Store = (*Store)(nil)

// ParseURL splits a database URL: "sqlite:PATH" (or "sqlite://PATH", or a
// bare path ending in .db) and "postgres://…" / "postgresql://…". It returns
// the dialect and the driver's data source name.
func ParseURL(raw string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("database URL: not a valid postgres:// URL")
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := sqlitePath(raw)
		if path == "" {
			return "", "", errors.New("database URL: sqlite: needs a file path")
		}
		return SQLite, sqliteDSN(path), nil
	case strings.HasSuffix(raw, ".db"):
		return SQLite, sqliteDSN(raw), nil
	}
	return "", "", errors.New("database URL: want sqlite:PATH or postgres://…")
}

func sqlitePath(raw string) string {
	if p, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		return strings.TrimPrefix(p, "//")
	}
	return raw
}

// createPrivate creates a missing SQLite file readable by its owner only
// (it holds the license codes); SQLite gives its -wal and -shm files the
// same mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return f.Close()
}

// sqliteDSN opens the file with WAL (readers never wait for the writer),
// NORMAL sync (durable at each checkpoint, never corrupt), foreign keys, a
// busy timeout for other processes (the CLI beside a running server), and
// IMMEDIATE write transactions.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Options tune Open.
type Options struct {
	// Migrate applies pending migrations at Open (the server does; the CLI's
	// read-only commands need not).
	Migrate bool
	Logger  *slog.Logger
	// MaxOpenConns caps the pool (default: 16 on PostgreSQL, 8 on SQLite).
	MaxOpenConns int
}

// Open connects to the database named by rawURL and checks that it answers.
func Open(ctx context.Context, rawURL string, opt Options) (*Store, error) {
	dialect, dsn, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	driver := "sqlite"
	if dialect == Postgres {
		driver = "pgx"
	} else if err := createPrivate(sqlitePath(rawURL)); err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Store{db: db, dialect: dialect}
	conns := opt.MaxOpenConns
	if dialect == SQLite {
		s.writeMu = &sync.Mutex{}
		if conns == 0 {
			conns = 8
		}
	} else if conns == 0 {
		conns = 16
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database does not answer: %w", err)
	}
	if opt.Migrate {
		if _, err := s.Migrate(ctx, opt.Logger); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// stmt returns the prepared statement of query (already rewritten by q).
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a prepared single-row query.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.stmt(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// Dialect says which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB is the pool (tests and benchmarks).
func (s *Store) DB() *sql.DB { return s.db }

// Migrate applies the pending migrations and returns the schema version. On
// PostgreSQL an advisory lock keeps two servers starting at once from
// migrating together.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) (int64, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(dialect, s.db, sub, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if err := s.up(ctx, p); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	// After the lock above is released: backfillParts writes through it.
	if err := s.backfillParts(ctx); err != nil {
		return 0, fmt.Errorf("migrate: index of fingerprint parts: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// up applies the migrations, queued behind this process's SQLite writers.
func (s *Store) up(ctx context.Context, p *goose.Provider) error {
	if s.writeMu != nil {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	_, err := p.Up(ctx)
	return err
}

// Version is the schema version applied (0: none).
func (s *Store) Version(ctx context.Context) (int64, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// q rewrites '?' placeholders for the dialect (the SQL here has no '?' in
// literals).
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// write runs fn in a transaction, queued behind this process's other writers
// on SQLite.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.writeMu != nil {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ping implements server.Store.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
