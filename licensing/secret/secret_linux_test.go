package secret

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Without any session bus the keyring reports ErrUnavailable at once (and
// never autolaunches a bus), so
// callers can fall back to the encrypted file.
func TestNoSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("DISPLAY", "")
	_, err := Keyring{Timeout: 3 * time.Second}.Get(context.Background(), "x")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}
