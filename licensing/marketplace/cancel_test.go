package marketplace

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// A caller who gives up (Ctrl-C, the window closed) gets kind Canceled, not
// Unavailable: no cache may stand in for an answer nobody waits for, and the
// CLI exits 130. A call that runs out of time is Unavailable as before.
func TestCanceledIsNotUnavailable(t *testing.T) {
	stall := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	c := newTestClient(t, stall.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := c.activate(ctx, testCode)
	wantKind(t, err, errs.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.activate(ctx, testCode)
	wantKind(t, err, errs.Unavailable)
}
