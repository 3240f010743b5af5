//go:build !windows && !darwin

package protocol

// userTempDir: the temporary folder of other Unix systems (/tmp, $TMPDIR)
// is shared between users, so the socket does not go there.
func userTempDir() string { return "" }
