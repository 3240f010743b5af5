//go:build unix

package testutil

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Postgres is a throwaway PostgreSQL cluster started by a test: initdb in a
// temporary folder, the server listening on a unix socket in that folder
// only (no TCP port, nothing shared with other tests or a system service),
// trust authentication for the user "postgres". It is stopped and removed
// when the test ends.
type Postgres struct {
	Dir    string // the cluster's folder; the socket is in Dir/run
	BinDir string
	cmd    *exec.Cmd
	cred   *syscall.Credential
	dbs    atomic.Int64
}

// RequirePostgres reports whether a missing PostgreSQL must fail the tests
// rather than skip them: the Makefile sets ISCDESK_REQUIRE_POSTGRES=1, so CI
// cannot pass by skipping.
func RequirePostgres() bool { return os.Getenv("ISCDESK_REQUIRE_POSTGRES") != "" }

// PostgresBinDir finds the folder holding initdb and postgres:
// ISCDESK_PG_BIN, then the newest of Debian's /usr/lib/postgresql/*/bin,
// then `pg_config --bindir`. "" when there is none.
func PostgresBinDir() string {
	has := func(dir string) bool {
		_, err1 := os.Stat(filepath.Join(dir, "initdb"))
		_, err2 := os.Stat(filepath.Join(dir, "postgres"))
		return err1 == nil && err2 == nil
	}
	if dir := os.Getenv("ISCDESK_PG_BIN"); dir != "" && has(dir) {
		return dir
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d
		}
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres starts a cluster for the test. Without PostgreSQL's binaries
// it skips the test with a loud message, or fails it when RequirePostgres.
// PostgreSQL refuses to run as root: as root, the cluster runs as the user
// nobody, in a folder it owns.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin := PostgresBinDir()
	if bin == "" {
		msg := "PostgreSQL (initdb, postgres) not found: install Debian's postgresql package (make deps)"
		if RequirePostgres() {
			tb.Fatal(msg + "; ISCDESK_REQUIRE_POSTGRES is set")
		}
		tb.Skip("SKIPPING THE POSTGRESQL RUN: " + msg)
	}
	dir, err := os.MkdirTemp(clusterParent(), "iscdesk-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	pg := &Postgres{Dir: dir, BinDir: bin}
	tb.Cleanup(func() { pg.stop(tb); os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			tb.Fatalf("running as root and no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	for _, sub := range []string{"run"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
		if pg.cred != nil {
			_ = os.Chown(filepath.Join(dir, sub), int(pg.cred.Uid), int(pg.cred.Gid))
		}
	}
	if out, err := pg.command("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logFile.Close()
	// fsync off: a throwaway cluster need not survive a power cut, and the
	// tests run several times faster.
	pg.cmd = pg.command("postgres", "-D", filepath.Join(dir, "data"), "-k", filepath.Join(dir, "run"),
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	pg.cmd.Stdout, pg.cmd.Stderr = logFile, logFile
	if err := pg.cmd.Start(); err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := pg.command("pg_isready", "-q", "-h", filepath.Join(dir, "run"), "-U", "postgres").Run(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			tb.Fatalf("postgres did not start within 30 s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return pg
}

// clusterParent is where the cluster's folder goes: the temporary folder,
// unless the user nobody (PostgreSQL as root) could not reach it or it is so
// deep that the socket's path would pass the 107 bytes a unix socket may
// have; then /tmp.
func clusterParent() string {
	base := os.TempDir()
	if len(base) > 60 || os.Geteuid() == 0 && !traversable(base) {
		return "/tmp"
	}
	return base
}

// traversable reports whether every folder of path lets others pass (x).
func traversable(path string) bool {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}

func (pg *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(pg.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
		cmd.Dir = pg.Dir
	}
	return cmd
}

// URL is a postgres:// URL of the database name on this cluster (pgx and
// libpq read the socket folder from host=).
func (pg *Postgres) URL(name string) string {
	q := url.Values{}
	q.Set("host", filepath.Join(pg.Dir, "run"))
	q.Set("sslmode", "disable")
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

// NewDatabase creates an empty database and returns its URL: each test of a
// suite gets its own.
func (pg *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d", pg.dbs.Add(1))
	if out, err := pg.command("createdb", "-h", filepath.Join(pg.Dir, "run"), "-U", "postgres", name).CombinedOutput(); err != nil {
		tb.Fatalf("createdb: %v\n%s", err, out)
	}
	return pg.URL(name)
}

func (pg *Postgres) stop(tb testing.TB) {
	if pg.cmd == nil || pg.cmd.Process == nil {
		return
	}
	// SIGINT is PostgreSQL's fast shutdown: it ends the sessions and stops.
	_ = pg.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- pg.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		tb.Log("postgres did not stop within 20 s: killed")
		_ = pg.cmd.Process.Kill()
		<-done
	}
}
