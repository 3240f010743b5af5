package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/exitcode"
	"github.com/iscdesk/iscdesk/internal/testutil/vendortest"
	"github.com/iscdesk/iscdesk/server"
)

// `iscdesk lease`: borrowing a floating seat through the command line takes
// it from the pool (another machine is refused), status shows it with the
// server stopped, return frees it; the JSON never carries the lease's
// secret or its license.
func TestLeaseFromTheCommandLine(t *testing.T) {
	srv := vendortest.Start(t, vendortest.Options{Config: server.Config{Default: server.Product{LicenseModel: server.ModelFloating, MaxBorrowDays: 3}}})
	code := srv.Code(t, 1)
	env := map[string]string{"ISCDESK_SERVER": srv.URL, "ISCDESK_SERVER_KEY": srv.Key}
	ws := newMachine(t, "workstation", "cad-ws-01", env)
	other := newMachine(t, "server", "cad-srv-03", env)
	ws.want(exitcode.OK, "activate", code)
	other.want(exitcode.OK, "activate", code) // floating: activations bind no seat

	ws.want(exitcode.Usage, "lease", "borrow")
	ws.want(exitcode.Usage, "lease", "borrow", "zero")
	ws.want(exitcode.Usage, "lease", "lend")
	if out := ws.want(exitcode.Usage, "lease", "borrow", "4"); !strings.Contains(out, "at most 3") {
		t.Fatalf("borrow beyond the limit: %s", out)
	}
	out := ws.want(exitcode.OK, "lease", "borrow", "2", "--json")
	var got borrowJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || !got.Borrowed || got.BorrowedUntil == nil ||
		time.Until(*got.BorrowedUntil) < 47*time.Hour || strings.Contains(out, "secret") || strings.Contains(out, "ey") {
		t.Fatalf("borrow --json: %s (%v)", out, err)
	}
	if out := ws.want(exitcode.Usage, "lease", "borrow", "1"); !strings.Contains(out, "return it first") {
		t.Fatalf("second borrow: %s", out)
	}
	if out := other.want(exitcode.NotUsable, "lease", "borrow", "1"); !strings.Contains(out, "cad-ws-01") {
		t.Fatalf("a full pool's refusal names no holder: %s", out)
	}
	if out := ws.want(exitcode.OK, "lease", "status"); !strings.Contains(out, "borrowed on this machine until") {
		t.Fatalf("status: %s", out)
	}
	ws.want(exitcode.OK, "lease", "return")
	other.want(exitcode.OK, "lease", "borrow", "1")
	if out := ws.want(exitcode.OK, "lease", "status", "--json"); !strings.Contains(out, `"borrowed": false`) {
		t.Fatalf("status after return: %s", out)
	}
	srv.Stop()
	if out := other.want(exitcode.OK, "lease", "status"); !strings.Contains(out, "until") {
		t.Fatalf("status with the server stopped: %s", out)
	}
	other.want(exitcode.Unreachable, "lease", "return")
}
