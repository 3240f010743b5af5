//go:build cgo && linux

package main

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"
)

// hasSystemTray reports whether the desktop shows tray icons: on Linux, a
// StatusNotifierItem host (KDE, GNOME with the AppIndicator extension, most
// panels) owns org.kde.StatusNotifierWatcher on the session bus. Without
// one, closing the window must quit: a hidden window could not be found.
func hasSystemTray() bool {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var has bool
	err = conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}
