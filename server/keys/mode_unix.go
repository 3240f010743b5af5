//go:build unix

package keys

import "os"

// CheckPrivate refuses a file that group or others may read.
func CheckPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return modeError(path, fi.Mode())
	}
	return nil
}
