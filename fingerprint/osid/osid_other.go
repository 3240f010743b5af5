//go:build !linux && !windows && !darwin

package osid

import "fmt"

func rawID() (string, error) {
	return "", fmt.Errorf("%w: not read on this operating system", ErrUnavailable)
}
