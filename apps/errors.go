package apps

import (
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/iscdesk/iscdesk/internal/download"
)

// Errors callers branch on with errors.Is. Each is wrapped with the detail
// (which entry, which file, which URL) a person needs.
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
