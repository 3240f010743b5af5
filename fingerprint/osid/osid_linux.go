package osid

import (
	"fmt"
	"os"
	"path/filepath"
)

func rawID() (string, error) { return readLinux("/") }

// readLinux reads systemd's machine id below root, else D-Bus's.
func readLinux(root string) (string, error) {
	var last error
	for _, p := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			last = err
			continue
		}
		return string(b), nil
	}
	return "", fmt.Errorf("%w: %v", ErrUnavailable, last)
}
