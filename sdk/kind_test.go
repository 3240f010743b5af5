package sdk_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
)

func TestOperationErrorKind(t *testing.T) {
	failed := protocol.Event{Operate: protocol.EventSaveResult, Params: map[string]string{
		"status": protocol.StatusFailed, protocol.ReasonKey: "verification of the saved copy failed", protocol.KindKey: "integrity"}}
	var err error = &sdk.OperationError{Event: failed}
	var oe *sdk.OperationError
	if !errors.As(err, &oe) || oe.Kind() != "integrity" || !errors.Is(err, sdk.ErrOperationFailed) {
		t.Fatalf("kind %q of %v", oe.Kind(), err)
	}
	old := &sdk.OperationError{Event: protocol.Event{Operate: protocol.EventSaveResult, Params: map[string]string{"status": protocol.StatusFailed}}}
	if old.Kind() != "" {
		t.Errorf("an event without a kind gives %q", old.Kind())
	}
}

// TestKindNamesDocumented: every kind the agent can report (the names of
// internal/errs) is listed where programs read about them, docs/protocol.md.
// The sdk itself does not import errs.
func TestKindNamesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "## Why a call failed")
	table, _, _ = strings.Cut(table, "\n## ")
	for _, k := range errs.Kinds() {
		if !strings.Contains(table, "| `"+k.Name()+"` |") {
			t.Errorf("docs/protocol.md (Why a call failed) does not list the kind %q (%v)", k.Name(), k)
		}
	}
}
