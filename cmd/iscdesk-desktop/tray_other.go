//go:build cgo && !linux

package main

// hasSystemTray: Windows and macOS always have a notification area / menu
// bar for the app's icon.
func hasSystemTray() bool { return true }
