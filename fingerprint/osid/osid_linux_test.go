package osid

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadLinux(t *testing.T) {
	root := t.TempDir()
	if _, err := readLinux(root); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no id: %v", err)
	}
	write := func(p, v string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	write("var/lib/dbus/machine-id", "dbus\n")
	if got, err := readLinux(root); err != nil || got != "dbus\n" {
		t.Fatalf("D-Bus's only: %q, %v", got, err)
	}
	write("etc/machine-id", "systemd\n")
	if got, err := readLinux(root); err != nil || got != "systemd\n" {
		t.Fatalf("both: %q, %v", got, err)
	}
}
