//go:build !amd64 && !(arm64 && linux)

package fingerprint

const cpuIDSource = ""

// cpuID has no source on this architecture: the CPU field stays empty.
func cpuID() (string, error) { return "", ErrNotSupported }
