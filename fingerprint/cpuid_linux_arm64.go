package fingerprint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

const cpuIDSource = "/sys/devices/system/cpu/cpu0/regs/identification/midr_el1"

// cpuID returns MIDR_EL1 of CPU 0 as 16 hex digits. It is read from the real
// root, never from Collector.Root: a container's CPU is the host's.
func cpuID() (string, error) {
	b, err := os.ReadFile(cpuIDSource)
	if err != nil {
		return "", err
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), 16, 64)
	if err != nil {
		return "", fmt.Errorf("midr_el1: %w", err)
	}
	return fmt.Sprintf("%016X", v), nil
}
