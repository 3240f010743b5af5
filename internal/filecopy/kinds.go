package filecopy

import (
	"context"
	"errors"
	"io/fs"

	"github.com/iscdesk/iscdesk/internal/errs"
)

// kinds says which kind of failure (internal/errs) each error of a copy is,
// first match wins.
var kinds = []struct {
	err  error
	kind errs.Kind
}{
	{ErrVerify, errs.Integrity},
	{ErrChanged, errs.Busy},
	{ErrNotRegular, errs.Invalid},
	{context.Canceled, errs.Canceled},
	{context.DeadlineExceeded, errs.Canceled},
	{fs.ErrNotExist, errs.NotExist},
	{fs.ErrPermission, errs.Permission},
}

// KindOf returns the kind of a copy's failure: the kind err carries already,
// else Integrity for ErrVerify, Busy for ErrChanged, Invalid for
// ErrNotRegular, and for the errors of the file system and the context
// NotExist, Permission or Canceled; Other for anything else (a full disk, an
// I/O error).
func KindOf(err error) errs.Kind {
	if k := errs.KindOf(err); k != errs.Other {
		return k
	}
	for _, m := range kinds {
		if errors.Is(err, m.err) {
			return m.kind
		}
	}
	return errs.Other
}
