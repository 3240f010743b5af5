// Package ui is the desktop window (fyne): activation, status, device,
// activity and settings screens, the system tray and the translations
// (English, Simplified Chinese).
//
// It holds no license logic: it drives the licensing and agent packages
// through the small interfaces declared in ui.go, which the process's
// licensing.Service and internal/wiring implement (cmd/iscdesk-desktop hands
// them over), and tests implement with fakes. Every call that may touch the
// network, the keyring or the disk runs off the UI goroutine (UI.bg), and its
// result reaches widgets through fyne.Do.
//
// It must build without cgo (`make cross` builds Windows and vets macOS with
// CGO_ENABLED=0): it imports fyne's core, widget, container, dialog, theme,
// lang and driver/desktop packages, never fyne.io/fyne/v2/app, which only
// cmd/iscdesk-desktop (cgo) imports. On macOS fyne's widgets themselves need
// cgo, so there every file but this one carries `//go:build !darwin || cgo`:
// a CGO_ENABLED=0 macOS build has no window and an empty package ui.
package ui
