//go:build cgo

package main

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

func TestSingleInstance(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix sockets in a temporary folder: covered on Linux and macOS")
	}
	path := filepath.Join(t.TempDir(), "run", guiSocketName)
	first, err := claimInstance(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 4)
	go first.serve(ctx, func(cmd string) error {
		got <- cmd
		if cmd == "bogus" {
			return errors.New("unknown command")
		}
		return nil
	})

	if _, err := claimInstance(path); !errors.Is(err, errOtherInstance) {
		t.Fatalf("second claim: %v, want errOtherInstance", err)
	}
	if cmd := <-got; cmd != "show" {
		t.Errorf("the first instance got %q, want show", cmd)
	}
	if reply, ok := askInstance(path, "bogus"); !ok || reply != "error: unknown command" {
		t.Errorf("reply %q %v", reply, ok)
	}
	<-got

	// Once the first is gone, its stale socket does not block the next.
	cancel()
	first.ln.Close()
	next, err := claimInstance(path)
	if err != nil {
		t.Fatalf("claim after the first quit: %v", err)
	}
	next.ln.Close()
}
