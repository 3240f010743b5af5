package agent

import (
	"context"
	"errors"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// errNotConfigured refuses a call whose hook the desktop has not set up.
func errNotConfigured(what string) error {
	return errs.Errorf("agent", errs.Unavailable, "%s is not configured on this desktop client", what)
}

// errEmptyDrive fails an OpenCloudFile when the cloud drive holds nothing to
// open.
var errEmptyDrive = errs.E("agent", errs.NotExist, errors.New("the cloud drive is empty: save a file to it first"))

// kindOf is the kind of failure a failed call reports to the program (the
// event's "kind" param): the kind its error carries (the default hooks and
// licensing give every failure one: Invalid, NotExist, Integrity, Failed,
// Busy, Canceled, the license's own kinds…), Canceled for a hook's bare
// context error, and Other for anything else.
func kindOf(err error) errs.Kind {
	if k := errs.KindOf(err); k != errs.Other {
		return k
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Canceled
	}
	return errs.Other
}
