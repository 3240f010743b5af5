package clouddrive

import (
	"errors"

	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
)

// Errors of the cloud drive; a returned error wraps one of these, one of
// filecopy's (ErrNotRegular, ErrChanged, ErrVerify) or fs.ErrNotExist for a
// missing file, and says which path it is about.
var (
	ErrNoPath      = errors.New("save: no path given")
	ErrIsFolder    = errors.New("is a folder")
	ErrNotAssembly = errors.New("not an assembly: an assembly is the folder named like its main file without the extension (gearbox/gearbox.asm), holding it and every dependency")
	ErrLinkEscapes = errors.New("symbolic link points outside the assembly")
	ErrHoldsDrive  = errors.New("the assembly folder holds the cloud drive")
	ErrBadName     = errors.New("invalid cloud drive name")
	ErrNameTaken   = errors.New("the cloud drive already holds an entry of this name of the other kind (file or assembly)")
)

// invalid are the drive's errors for a request it will not carry out as
// given: all of kind Invalid.
var invalid = []error{ErrNoPath, ErrIsFolder, ErrNotAssembly, ErrLinkEscapes, ErrHoldsDrive, ErrBadName, ErrNameTaken}

// withKind gives err the kind of failure it is (internal/errs), the one
// place the drive decides it: Invalid for the errors in invalid, and the copy
// engine's kinds for the rest (see filecopy.KindOf: Integrity for a copy that
// fails verification, Busy for a file changed while it was saved, NotExist
// for a missing file or entry, Canceled, …). An error of no known kind is
// returned as it is.
func withKind(err error) error {
	if err == nil || errs.KindOf(err) != errs.Other {
		return err
	}
	for _, r := range invalid {
		if errors.Is(err, r) {
			return errs.E("clouddrive", errs.Invalid, err)
		}
	}
	if k := filecopy.KindOf(err); k != errs.Other {
		return errs.E("clouddrive", k, err)
	}
	return err
}
