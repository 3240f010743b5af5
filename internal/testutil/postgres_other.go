//go:build !unix

package testutil

import (
	"os"
	"testing"
)

// Postgres is a throwaway PostgreSQL cluster; on this OS the tests do not
// start one (see postgres_unix.go).
type Postgres struct {
	Dir    string
	BinDir string
}

// RequirePostgres reports whether a missing PostgreSQL must fail the tests.
func RequirePostgres() bool { return os.Getenv("ISCDESK_REQUIRE_POSTGRES") != "" }

// StartPostgres skips: the PostgreSQL runs are unix-only.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	tb.Skip("SKIPPING THE POSTGRESQL RUN: started by the tests on unix only")
	return nil
}

// URL is unreachable on this OS.
func (pg *Postgres) URL(name string) string { return "" }

// NewDatabase is unreachable on this OS.
func (pg *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	tb.Skip("no PostgreSQL")
	return ""
}
