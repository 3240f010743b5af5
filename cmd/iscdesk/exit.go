package main

import (
	"errors"
	"fmt"

	"github.com/iscdesk/iscdesk/licensing"
)

// Exit codes of the CLI contract (spec/cli.md).
const (
	exitOK          = 0
	exitInternal    = 1
	exitUsage       = 2
	exitNotUsable   = 3
	exitUnreachable = 4
	exitCredentials = 5
	exitStorage     = 6
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// exitCode maps an error to the exit code of the contract. This is the one
// place where error kinds become exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var le *licensing.Error
	if !errors.As(err, &le) {
		return exitInternal
	}
	switch le.Kind {
	case licensing.Invalid:
		return exitUsage
	case licensing.NotFound, licensing.NotDelivered, licensing.NotActivated, licensing.Expired,
		licensing.Released, licensing.WrongMachine, licensing.ClockRollback, licensing.Tampered,
		licensing.GraceExpired:
		return exitNotUsable
	case licensing.Unavailable, licensing.Protocol:
		return exitUnreachable
	case licensing.Credentials:
		return exitCredentials
	case licensing.Storage:
		return exitStorage
	default:
		return exitInternal
	}
}
