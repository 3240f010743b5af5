package osid

import (
	"bytes"
	"fmt"
)

// platformUUID finds `"IOPlatformUUID" = "…"` in the output of ioreg. It
// builds on every OS, so that its tests run everywhere.
func platformUUID(out []byte) (string, error) {
	const key = `"IOPlatformUUID" = "`
	for line := range bytes.Lines(out) {
		_, rest, ok := bytes.Cut(line, []byte(key))
		if !ok {
			continue
		}
		if v, _, ok := bytes.Cut(rest, []byte(`"`)); ok && len(v) > 0 {
			return string(v), nil
		}
	}
	return "", fmt.Errorf("%w: no IOPlatformUUID in the I/O Kit registry", ErrUnavailable)
}
