package wiring

import (
	"testing"

	"github.com/iscdesk/iscdesk/internal/config"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// An environment variable over a setting the machine-wide file locks stays
// an error of kind Permission (exit 7, the window's "fixed by the
// administrator"), not a broken file.
func TestLoadConfigLockedKind(t *testing.T) {
	e := testEnv(t, map[string]string{"ISCDESK_SERVER": "http://127.0.0.1:8790"})
	if err := config.SaveUser(e.Paths.Machine, config.Config{Server: "https://license.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.LoadConfig(); !errs.Is(err, errs.Permission) {
		t.Fatalf("LoadConfig: %v, want kind Permission", err)
	}
	if _, err := e.Licenses().ServerURL(t.Context()); !errs.Is(err, errs.Permission) {
		t.Fatalf("the license service's server: %v, want kind Permission", err)
	}
	if _, err := (UserSettings{e}).Load(); !errs.Is(err, errs.Permission) {
		t.Fatalf("the window's settings: %v, want kind Permission", err)
	}
}
