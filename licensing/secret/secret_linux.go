package secret

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// available reports whether a session bus can be found the way godbus finds
// one, short of autolaunching: without this check godbus runs dbus-launch,
// which may start a bus and a keyring daemon that waits for a password prompt
// nobody sees (headless machines, services, SSH sessions).
func available() error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)", ErrUnavailable)
}

// classifyPlatformError tells "there is no Secret Service here" (no session
// bus, nothing provides org.freedesktop.secrets) from other keyring failures,
// so callers can fall back to the encrypted file instead of failing.
func classifyPlatformError(err error) error {
	msg := err.Error()
	for _, s := range []string{
		"session bus", "DBUS_SESSION_BUS_ADDRESS", "ServiceUnknown", "org.freedesktop.secrets",
		"dbus-launch", "connection refused", "no such file or directory", "autolaunch", "X11",
	} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return fmt.Errorf("secret: OS keyring: %w", err)
}
