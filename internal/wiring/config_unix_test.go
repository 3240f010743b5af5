//go:build unix

package wiring

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// A machine-wide file that others than root can change is refused with kind
// Permission (the CLI's exit code 7, "refused"), not Invalid: it is not
// malformed, and the message says how to fix it. Every flow reads the
// configuration, so the license service refuses too.
func TestUnsafeMachineConfigIsRefused(t *testing.T) {
	e := testEnv(t, nil)
	if err := os.WriteFile(e.Paths.Machine, []byte(`{"server":"https://license.example"}`), 0o664); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.Paths.Machine, 0o664); err != nil {
		t.Fatal(err)
	}
	_, err := e.LoadConfig()
	if !errs.Is(err, errs.Permission) || !strings.Contains(err.Error(), e.Paths.Machine) || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("LoadConfig with a group-writable machine file: %v (kind %v)", err, errs.KindOf(err))
	}
	if _, err := e.Licenses().Status(context.Background(), false); !errs.Is(err, errs.Permission) {
		t.Errorf("status with a group-writable machine file: %v", err)
	}
	if strings.Count(err.Error(), "config: ") != 1 {
		t.Errorf("the operation is repeated: %v", err)
	}
}
