package sqlstore

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// A database made by the first schema (version 1) with an activation in it
// upgrades: migration 2 adds the machine id and the parts index, and
// Migrate indexes the activation made before.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "v1.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO codes (hash, code, status, created_at) VALUES ('h', 'PLA', 'ALIVE', 1)`,
		`INSERT INTO activations (id, code_hash, request_id, fingerprint, device_key, host, state, created_at)
			VALUES ('act_1', 'h', 'req-0001', '02:00:00:00:00:01|DISK1|BOARD1|CPU1', 'AAAA', 'h1', 'active', 1)`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.Migrate(ctx, nil)
	if err != nil || v < 3 { // later migrations may follow
		t.Fatalf("migrate: version %d, %v", v, err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM activation_parts WHERE activation_id = 'act_1'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d part rows (%v), want 3 (mac, disk, board)", n, err)
	}
	a, err := s.Activation(ctx, "act_1")
	if err != nil || a.MachineID != "" {
		t.Fatalf("activation after the upgrade: %+v %v", a, err)
	}
}
