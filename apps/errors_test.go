//go:build unix

package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// kindOf is the one table from this package's failures to kinds (and so to
// the exit codes of `iscdesk app`).
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want errs.Kind
	}{
		{fmt.Errorf("%w: x", ErrChecksum), errs.Integrity},
		{fmt.Errorf("%w: x", ErrUnsafeArchive), errs.Integrity},
		{fmt.Errorf("%w: x", ErrBadPackage), errs.Integrity},
		{fmt.Errorf("%w: x", ErrTooLarge), errs.Integrity},
		{fmt.Errorf("acme: %w", ErrNotInstalled), errs.NotExist},
		{&ScriptError{Package: "acme", Script: "install.sh", Err: &exec.ExitError{}}, errs.Failed},
		{errors.Join(&ScriptError{Err: errors.New("x")}, errors.New("record")), errs.Failed},
		{&ScriptError{Package: "acme", Script: "install.sh", Err: context.Canceled}, errs.Canceled},
		{context.Canceled, errs.Canceled},
		{errs.Errorf("", errs.Invalid, "bad"), errs.Invalid},
		{errs.Errorf("download", errs.Unavailable, "503"), errs.Unavailable},
		{&os.PathError{Op: "open", Path: "x", Err: os.ErrNotExist}, errs.NotExist},
		{&os.PathError{Op: "open", Path: "x", Err: os.ErrPermission}, errs.Permission},
		{errors.New("disk on fire"), errs.Other},
	} {
		if got := kindOf(c.err); got != c.want {
			t.Errorf("%v: kind %v, want %v", c.err, got, c.want)
		}
		if e := failed(opInstall, c.err); errs.KindOf(e) != c.want || !errors.Is(e, c.err) {
			t.Errorf("failed(%v) = %v", c.err, e)
		}
	}
	if failed(opInstall, nil) != nil {
		t.Error("failed(nil) is not nil")
	}
}

// An install waiting for the lock another process holds gives up with
// errs.Busy when its deadline passes, and with errs.Canceled when it is
// cancelled.
func TestLockBusy(t *testing.T) {
	m, base := testManager(t)
	pkg := makeArchive(t, base, "software.tar.gz", "tar.gz", vendorEntries("", manifestV1))
	unlock, err := m.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := m.Install(ctx, pkg, InstallOptions{}); !errs.Is(err, errs.Busy) {
		t.Errorf("deadline while locked: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := m.Uninstall(ctx, "acme-cad", nil); !errs.Is(err, errs.Canceled) {
		t.Errorf("cancelled while locked: %v", err)
	}
}
