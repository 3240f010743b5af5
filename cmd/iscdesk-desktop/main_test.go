//go:build cgo

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
	"github.com/iscdesk/iscdesk/internal/wiring"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func TestArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &wiring.Env{}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "Usage: iscdesk-desktop") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"status"}, &wiring.Env{}, &out, &errb); code != 2 || out.Len() != 0 ||
		!strings.HasPrefix(errb.String(), "iscdesk: ") || !strings.Contains(errb.String(), "iscdesk --help") {
		t.Errorf("status: exit %d, stderr %q", code, errb.String())
	}
}

// fyne is linked here: under the C.UTF-8 locale of containers it must not
// log on standard error (see internal/localeenv), so that a start without a
// display says why in one line.
func TestNoDisplayOneLine(t *testing.T) {
	bin := testutil.Binary(t, "./cmd/iscdesk-desktop", testutil.Build{})
	r := testutil.Run(t, bin, []string{"LANG=C.UTF-8", "HOME=" + t.TempDir()})
	if r.Code != 1 || r.Stdout != "" || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, "no graphical session") {
		t.Errorf("without a display under LANG=C.UTF-8: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
}
