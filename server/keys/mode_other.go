//go:build !unix

package keys

// CheckPrivate: Windows files carry ACLs, not mode bits; the server's folder is
// the one to protect there.
func CheckPrivate(string) error { return nil }
