package capi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/agent"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
)

// saveAsHandle serves a real agent (a cloud drive, the SaveAs hook choose)
// and returns an initialised handle on it and the drive's folder.
func saveAsHandle(t *testing.T, choose func(context.Context, clouddrive.SaveAsRequest) (string, error)) (*Handle, string, func() []string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "capi") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	storage, err := clouddrive.NewLocalFolder(filepath.Join(dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	srv := agent.New(agent.Config{SocketPath: filepath.Join(dir, "s", "agent.sock"), Storage: storage, SaveAs: choose})
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	h := NewHandle("capitest", "1.0.0", srv.SocketPath())
	var mu sync.Mutex
	var events []string
	h.SetCallback(func(typ int, json string) {
		mu.Lock()
		events = append(events, fmt.Sprintf("%d %s", typ, json))
		mu.Unlock()
	})
	if err := h.Init(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.ShutOut)
	seen := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), events...) }
	return h, storage.Root(), seen
}

func TestSelectSaveAsPath(t *testing.T) {
	h, cloud, seen := saveAsHandle(t, agent.KeepSuggestion)
	ev, err := h.SelectSaveAsPath(10*time.Second, "bracket.prt", false)
	if err != nil {
		t.Fatal(err)
	}
	if path, err := EventParam(ev, "savePath"); err != nil || path != filepath.Join(cloud, "bracket.prt") {
		t.Fatalf("savePath %q (%v) in %s", path, err, ev)
	}
	if rid, _ := EventParam(ev, "comeBackParams.requestId"); !strings.Contains(strings.Join(seen(), "\n"), fmt.Sprintf("%d ", EventType("SaveAsPath"))) || rid == "" {
		t.Fatalf("the callback did not get the SaveAsPath event before the call returned: %v", seen())
	}
	rid, err := h.SelectSaveAsPathRequest("gearbox.asm", true)
	if err != nil || rid == "" {
		t.Fatalf("request: %q %v", rid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(strings.Join(seen(), "\n"), rid) {
		if time.Now().After(deadline) {
			t.Fatalf("no event of request %s: %v", rid, seen())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, e := range seen() {
		if strings.Contains(e, rid) && !strings.Contains(e, `"savePath":"`+filepath.Join(cloud, "gearbox", "gearbox.asm")+`"`) {
			t.Fatalf("assembly event %s", e)
		}
	}
	for _, bad := range []string{"", "../x.prt", "/etc/passwd", "CON"} {
		if _, err := h.SelectSaveAsPath(10*time.Second, bad, false); CodeOf(err) != EInvalid {
			t.Errorf("suggestion %q: %v (code %d)", bad, err, CodeOf(err))
		}
		if _, err := h.SelectSaveAsPathRequest(bad, false); CodeOf(err) != EInvalid {
			t.Errorf("request with suggestion %q: %v (code %d)", bad, err, CodeOf(err))
		}
	}
}

// A chooser the user closes: ISCDESK_E_FAILED with the event, kind canceled.
func TestSelectSaveAsPathCanceled(t *testing.T) {
	h, _, _ := saveAsHandle(t, func(context.Context, clouddrive.SaveAsRequest) (string, error) {
		return "", fmt.Errorf("closed: %w", context.Canceled)
	})
	ev, err := h.SelectSaveAsPath(10*time.Second, "bracket.prt", false)
	if kind, _ := EventParam(ev, "kind"); CodeOf(err) != EFailed || kind != "canceled" {
		t.Fatalf("canceled: %v (code %d), event %s", err, CodeOf(err), ev)
	}
}
