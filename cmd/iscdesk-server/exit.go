package main

import (
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// Exit codes (spec: the iscdesk-server contract shares iscdesk's).
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitNotUsable   = 3
	exitUnreachable = 4
	exitCredentials = 5
	exitCanceled    = 130
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode is the one place kinds become exit codes.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return exitUsage
	case errs.NotFound, errs.NotExist, errs.NotDelivered, errs.NotActivated, errs.Expired, errs.Released, errs.WrongMachine:
		return exitNotUsable
	case errs.Unavailable, errs.Protocol:
		return exitUnreachable
	case errs.Credentials:
		return exitCredentials
	case errs.Canceled:
		return exitCanceled
	}
	return exitInternal
}
