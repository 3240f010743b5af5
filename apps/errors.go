package apps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"time"

	"github.com/iscdesk/iscdesk/internal/download"
	"github.com/iscdesk/iscdesk/internal/errs"
)

// The operations named in errors: the words of the command line.
const (
	opInstall   = "app install"
	opUninstall = "app uninstall"
	opForget    = "app forget"
	opList      = "app list"
)

// Every error the Manager returns is an *errs.Error whose Op is the command
// ("app install", "app uninstall", …) and whose Kind says why (kindOf):
//
//   - errs.Invalid: a bad argument (a malformed SHA-256, a URL that is
//     neither HTTPS nor plain HTTP to this machine, an unusable target
//     folder); a redirect that breaks the URL rules;
//   - errs.Integrity: ErrChecksum, ErrUnsafeArchive, ErrBadPackage,
//     ErrTooLarge;
//   - errs.NotExist: ErrNotInstalled, or a package file that does not exist
//     (or a URL answered 404);
//   - errs.Failed: a vendor script failed (*ScriptError);
//   - errs.Unavailable: the download failed (network, server);
//   - errs.Busy: the context's deadline passed while another install or
//     uninstall held the lock;
//   - errs.Canceled: the context was canceled;
//   - errs.Permission: the OS refused a file operation, or the server the
//     download (401, 403).
//
// The sentinels below tell the Integrity failures apart with errors.Is. Each
// is wrapped with the detail (which entry, which file, which URL) a person
// needs.
var (
	// ErrChecksum means the package's SHA-256 is not the one asked for. A
	// download that fails the check is deleted; a local file is left alone.
	ErrChecksum = download.ErrChecksum
	// ErrUnsafeArchive means an archive entry would land outside the
	// package folder: "../" paths, absolute paths, drive letters,
	// backslashes, links pointing out, or entries written through a link.
	ErrUnsafeArchive = errors.New("unsafe archive")
	// ErrBadPackage means the file is not a vendor package this client
	// accepts: unknown or damaged archive, missing scripts for this system,
	// a malformed software.json.
	ErrBadPackage = errors.New("not a valid vendor package")
	// ErrTooLarge means the package file or its unpacking would exceed the
	// Manager's caps on total size or number of entries.
	ErrTooLarge = download.ErrTooLarge
	// ErrNotInstalled means no installed package has the name.
	ErrNotInstalled = errors.New("not installed")
)

// ScriptError reports a vendor script that did not exit with status 0: it
// failed, could not start, timed out or was interrupted. Its output is in Log.
type ScriptError struct {
	Package string        // the package name
	Script  string        // "install.sh", "uninstall.bat", …
	Log     string        // the log file holding the script's output
	Timeout time.Duration // set when the script ran out of time
	Err     error         // *exec.ExitError, a start failure, or the context's error
}

func (e *ScriptError) Error() string {
	var what string
	var ee *exec.ExitError
	switch {
	case e.Timeout > 0:
		what = fmt.Sprintf("did not finish within %v", e.Timeout)
	case errors.As(e.Err, &ee) && ee.ExitCode() >= 0:
		what = fmt.Sprintf("failed with exit status %d", ee.ExitCode())
	default:
		what = fmt.Sprintf("failed: %v", e.Err)
	}
	msg := fmt.Sprintf("%s of %s %s", e.Script, e.Package, what)
	if e.Log != "" {
		msg += " (see " + e.Log + ")"
	}
	return msg
}

func (e *ScriptError) Unwrap() error { return e.Err }

// ExitCode is the script's exit status, or -1 when it did not exit by itself
// (not started, killed, timed out).
func (e *ScriptError) ExitCode() int {
	var ee *exec.ExitError
	if e.Timeout == 0 && errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// failed gives err its operation and the kind a caller branches on; nil
// stays nil. It is applied once, where an error leaves the Manager.
func failed(op string, err error) error {
	if err == nil {
		return nil
	}
	return errs.E(op, kindOf(err), err)
}

// kindOf is the one table from this package's failures to error kinds.
func kindOf(err error) errs.Kind {
	var se *ScriptError
	switch {
	case errors.Is(err, context.Canceled):
		return errs.Canceled
	case errors.As(err, &se):
		return errs.Failed
	case errors.Is(err, ErrChecksum), errors.Is(err, ErrUnsafeArchive), errors.Is(err, ErrBadPackage), errors.Is(err, ErrTooLarge):
		return errs.Integrity
	case errors.Is(err, ErrNotInstalled):
		return errs.NotExist
	case errs.KindOf(err) != errs.Other:
		return errs.KindOf(err) // the download's, an invalid argument, the lock
	case errors.Is(err, fs.ErrNotExist):
		return errs.NotExist
	case errors.Is(err, fs.ErrPermission):
		return errs.Permission
	}
	return errs.Other
}
