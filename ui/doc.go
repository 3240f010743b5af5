// Package ui is the desktop window (fyne): activation, status, device,
// activity and settings screens, the system tray and the translations
// (English, Simplified Chinese). It holds no license logic: it drives the
// licensing and agent packages through small interfaces, and every state
// change reaches widgets through bindings or fyne.Do. (Filled by the desktop
// app issue.)
package ui
