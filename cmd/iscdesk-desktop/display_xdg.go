//go:build cgo && !windows && !darwin

package main

import (
	"errors"
	"os"
)

// checkDisplay: on Linux and the BSDs the window needs an X11 or Wayland
// session; without one fyne's GLFW driver panics, so say it plainly first.
func checkDisplay() error {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no graphical session (DISPLAY and WAYLAND_DISPLAY are not set): use the subcommands, e.g. 'iscdesk status' or 'iscdesk agent'")
	}
	return nil
}
