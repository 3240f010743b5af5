package main

import (
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/exitcode"
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
		return exitcode.OK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitcode.Usage
	}
	return kindExitCodes[errs.KindOf(err)]
}

// kindExitCodes gives every kind its exit code; a kind missing here exits 1.
var kindExitCodes = map[errs.Kind]int{
	errs.Other:         exitcode.Internal,
	errs.Invalid:       exitcode.Usage,
	errs.NotFound:      exitcode.NotUsable,
	errs.NotDelivered:  exitcode.NotUsable,
	errs.NotActivated:  exitcode.NotUsable,
	errs.Expired:       exitcode.NotUsable,
	errs.Released:      exitcode.NotUsable,
	errs.WrongMachine:  exitcode.NotUsable,
	errs.ClockRollback: exitcode.NotUsable,
	errs.Tampered:      exitcode.NotUsable,
	errs.GraceExpired:  exitcode.NotUsable,
	errs.Unavailable:   exitcode.Unreachable,
	errs.Protocol:      exitcode.Unreachable,
	errs.Credentials:   exitcode.Credentials,
	errs.Storage:       exitcode.Storage,
	errs.NotExist:      exitcode.Refused,
	errs.Integrity:     exitcode.Refused,
	errs.Failed:        exitcode.Failed,
	errs.Permission:    exitcode.Refused,
	errs.Busy:          exitcode.Failed,
	errs.Canceled:      exitcode.Canceled,
}
