package sdk_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/sdk"
)

func TestOperationErrorKind(t *testing.T) {
	failed := sdk.Event{Operate: sdk.EventSaveResult, Params: map[string]string{
		"status": sdk.StatusFailed, sdk.ReasonKey: "verification of the saved copy failed", sdk.KindKey: "integrity"}}
	var err error = &sdk.OperationError{Event: failed}
	var oe *sdk.OperationError
	if !errors.As(err, &oe) || oe.Kind() != "integrity" || !errors.Is(err, sdk.ErrOperationFailed) {
		t.Fatalf("kind %q of %v", oe.Kind(), err)
	}
	old := &sdk.OperationError{Event: sdk.Event{Operate: sdk.EventSaveResult, Params: map[string]string{"status": sdk.StatusFailed}}}
	if old.Kind() != "" {
		t.Errorf("an event without a kind gives %q", old.Kind())
	}
}

// TestKindNamesDocumented: every kind the agent can report (the names of
// internal/errs) is listed where programs read about them: KindKey's
// documentation and PROTOCOL.md's table. The sdk itself does not import errs.
func TestKindNamesDocumented(t *testing.T) {
	code, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}
	_, keyDoc, _ := strings.Cut(string(code), "// KindKey is")
	keyDoc, _, _ = strings.Cut(keyDoc, "const KindKey")
	protocol, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(protocol), "### Kinds of failure")
	for _, k := range errs.Kinds() {
		name := k.Name()
		if !regexp.MustCompile(`(?m)(^//\t|, )` + name + `(,| |$)`).MatchString(keyDoc) {
			t.Errorf("KindKey's documentation does not list the kind %q (%v)", name, k)
		}
		if !strings.Contains(table, "`"+name+"`") {
			t.Errorf("PROTOCOL.md's kinds of failure do not list %q (%v)", name, k)
		}
	}
}
