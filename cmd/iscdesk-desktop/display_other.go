//go:build cgo && (windows || darwin)

package main

// checkDisplay: Windows and macOS desktops always have a display for an
// interactive user.
func checkDisplay() error { return nil }
