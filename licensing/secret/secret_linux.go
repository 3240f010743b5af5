package secret

import (
	"fmt"
	"strings"
)

// classifyPlatformError tells "there is no Secret Service here" (no session
// bus, nothing owns org.freedesktop.secrets) from other keyring failures, so
// callers can fall back to the encrypted file instead of failing.
func classifyPlatformError(err error) error {
	msg := err.Error()
	for _, s := range []string{
		"session bus", "DBUS_SESSION_BUS_ADDRESS", "ServiceUnknown", "org.freedesktop.secrets",
		"connection refused", "no such file or directory", "autolaunch", "X11",
	} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return fmt.Errorf("secret: OS keyring: %w", err)
}
