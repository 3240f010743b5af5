package main

import (
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Exit codes of the CLI contract (docs/cli.md).
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitNotUsable   = 3
	exitUnreachable = 4
	exitCredentials = 5
	exitStorage     = 6
	exitRefused     = 7   // refused: a package or file failed a check, names nothing installed, or is not allowed
	exitFailed      = 8   // an external step (a vendor script) failed, or another process holds the resource
	exitCanceled    = 130 // interrupted (Ctrl-C), as shells report SIGINT
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// exitCode maps an error to the exit code of the contract. This is the one
// place where error kinds become exit codes (docs/cli.md lists them).
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return kindExitCodes[errs.KindOf(err)]
}

// kindExitCodes gives every kind its exit code; a kind missing here exits 1.
var kindExitCodes = map[errs.Kind]int{
	errs.Other:         exitInternal,
	errs.Invalid:       exitUsage,
	errs.NotFound:      exitNotUsable,
	errs.NotDelivered:  exitNotUsable,
	errs.NotActivated:  exitNotUsable,
	errs.Expired:       exitNotUsable,
	errs.Released:      exitNotUsable,
	errs.WrongMachine:  exitNotUsable,
	errs.ClockRollback: exitNotUsable,
	errs.Tampered:      exitNotUsable,
	errs.GraceExpired:  exitNotUsable,
	errs.Unavailable:   exitUnreachable,
	errs.Protocol:      exitUnreachable,
	errs.Credentials:   exitCredentials,
	errs.Storage:       exitStorage,
	errs.NotExist:      exitRefused,
	errs.Integrity:     exitRefused,
	errs.Failed:        exitFailed,
	errs.Permission:    exitRefused,
	errs.Busy:          exitFailed,
	errs.Canceled:      exitCanceled,
}
