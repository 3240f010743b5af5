//go:build cgo

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iscdesk/iscdesk/internal/testutil"
)

// TestGUISocketOtherUserHelper is the other user's process of
// TestGUISocketRefusesOtherUsers: it sends "quit" to the window at
// $ISCDESK_GUI_SOCKET and prints what came back.
func TestGUISocketOtherUserHelper(t *testing.T) {
	fmt.Println(testutil.Knock(testutil.OtherUserEnv(t, "ISCDESK_GUI_SOCKET"), "quit"))
}

// The window takes commands on gui.sock from this user's processes only:
// with the folder and the socket opened to everyone by hand, a process of
// another user still cannot make it quit (issue 11, finding 8).
func TestGUISocketRefusesOtherUsers(t *testing.T) {
	base, err := os.MkdirTemp("", "guisock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	path := filepath.Join(base, "run", guiSocketName)
	helper := testutil.AsOtherUser(t, "TestGUISocketOtherUserHelper", "ISCDESK_GUI_SOCKET="+path)
	in, err := claimInstance(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 4)
	go in.serve(ctx, func(cmd string) error { got <- cmd; return nil })
	for _, p := range []string{base, filepath.Dir(path), path} {
		if err := os.Chmod(p, 0o777); err != nil {
			t.Fatal(err)
		}
	}

	out, err := helper.CombinedOutput()
	if err != nil {
		t.Fatalf("the other user's process: %v\n%s", err, out)
	}
	select {
	case cmd := <-got:
		t.Fatalf("the window took %q from another user's process (which saw %q)", cmd, out)
	default:
	}
	if !strings.HasPrefix(string(out), "closed:") {
		t.Errorf("the other user's process: %q, want the connection closed unanswered", out)
	}
	// A second launch sends nothing through a folder others may enter…
	if reply, ok := askInstance(path, "show"); ok {
		t.Errorf("askInstance through a folder open to others: %q; want it refused", reply)
	}
	// …and once it is private again, this user's commands go through.
	if err := os.Chmod(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if reply, ok := askInstance(path, "show"); !ok || reply != "ok" || <-got != "show" {
		t.Errorf("askInstance: %q %v", reply, ok)
	}
}
