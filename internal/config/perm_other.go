//go:build !unix && !windows

package config

// otherWriters cannot tell on this OS who may change a file, so an existing
// machine-wide file is refused rather than trusted.
func otherWriters(bool) (func(path string) (string, error), error) {
	return func(string) (string, error) { return "this system's permissions are not checked", nil }, nil
}

// machineFileFix says how to fix a refused machine-wide file.
func machineFileFix(dir, file string) string { return "remove it" }
