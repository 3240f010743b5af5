//go:build unix

package keys

import "os"

func checkMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return modeError(path, fi.Mode())
	}
	return nil
}
