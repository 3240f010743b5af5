package main

import (
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/exitcode"
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode is the one place kinds become exit codes.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitcode.Usage
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return exitcode.Usage
	case errs.NotFound, errs.NotExist, errs.NotDelivered, errs.NotActivated, errs.Expired, errs.Released, errs.WrongMachine:
		return exitcode.NotUsable
	case errs.Unavailable, errs.Protocol:
		return exitcode.Unreachable
	case errs.Credentials:
		return exitcode.Credentials
	case errs.Permission:
		// A request file replayed, or not signed by its device key.
		return exitcode.Refused
	case errs.Canceled:
		return exitcode.Canceled
	}
	return exitcode.Internal
}
