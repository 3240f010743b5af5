package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// A temporary folder is the test user's (it owns it, or has full control
// over it through its profile's permissions): read as the machine-wide
// file only when that user is trusted, refused otherwise, saying who.
func TestMachineFileWindowsACL(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(`{"grace_days":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Paths{Machine: file, TrustCurrentUser: true}, nil)
	if err != nil || c.GraceDays != 3 {
		t.Fatalf("trusted: %+v, %v", c, err)
	}
	_, err = Load(Paths{Machine: file}, nil)
	if !errs.Is(err, errs.Permission) || !strings.Contains(err.Error(), file) {
		t.Errorf("not trusted: %v", err)
	} else if msg := err.Error(); !strings.Contains(msg, "may change it") && !strings.Contains(msg, "owned by") {
		t.Errorf("not trusted: the error does not say who: %v", err)
	}
}
