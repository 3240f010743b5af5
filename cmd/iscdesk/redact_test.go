package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/licensing"
)

// The last line of defence: whatever error reaches the terminal, the URLs
// in it lose their credentials, query and fragment.
func TestReportRedactsURLs(t *testing.T) {
	var out, errb bytes.Buffer
	err := errs.E("update check", errs.Unavailable, errors.New(`Get "https://user:s3cret@files.example.com/m.json?token=t0ken": connection refused`))
	code := report(&stdio{out: &out, err: &errb}, err)
	if code != exitcode.Unreachable || strings.Contains(errb.String(), "s3cret") || strings.Contains(errb.String(), "t0ken") ||
		!strings.Contains(errb.String(), "https://files.example.com/m.json") {
		t.Errorf("exit %d, %q", code, errb.String())
	}
	if j := stateJSON(licensing.State{}, "PL1", err); strings.Contains(j.Reason, "s3cret") || strings.Contains(j.Reason, "t0ken") {
		t.Errorf("JSON reason %q", j.Reason)
	}
}
