//go:build !unix

package keys

// checkMode: Windows files carry ACLs, not mode bits; the server's folder is
// the one to protect there.
func checkMode(string) error { return nil }
