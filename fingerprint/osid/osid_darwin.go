package osid

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// rawID asks the I/O Kit registry for the platform UUID (what "Hardware
// UUID" shows in System Information), within 5 seconds.
func rawID() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return "", fmt.Errorf("%w: ioreg: %v", ErrUnavailable, err)
	}
	return platformUUID(out)
}
