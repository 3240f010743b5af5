package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/secret"
)

// With no Secret Service at all (no session bus), Open picks the encrypted
// file, and nothing readable of the license lands on disk.
func TestNoSecretServiceUsesFile(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("DISPLAY", "")
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, Options{Secrets: secret.Keyring{Timeout: 5 * time.Second}, Dir: dir, MachineID: machine("m")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != "file" {
		t.Fatalf("storage %s, want file", s.Kind())
	}
	r := record("PLNOKEYRING0001", 2)
	if err := s.Save(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx)
	if err != nil || !equalRecords(got, r) {
		t.Fatalf("load: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no file written")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte("PLNOKEYRING")) || bytes.Contains(data, []byte("ALIVE")) {
			t.Errorf("%s holds license data in plain text", filepath.Base(f))
		}
	}
}
