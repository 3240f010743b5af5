//go:build !cgo

package main

import (
	"context"
	"errors"
)

// runGUI: fyne's window needs cgo (OpenGL); the cross-compiled CLI-only
// builds have none.
func runGUI(context.Context, *stdio) error {
	return errors.New("this build of iscdesk has no desktop window: it was built without cgo (use the subcommands, see 'iscdesk --help')")
}
