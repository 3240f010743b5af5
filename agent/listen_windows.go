package agent

import "os"

// prepareSocketDir creates the socket's folder in the user's local
// application data, which only the user (and administrators) may enter.
func prepareSocketDir(path string) error { return os.MkdirAll(dirOf(path), 0o700) }

// restrictSocket: the folder's ACL already keeps other users out.
func restrictSocket(string) error { return nil }

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '\\' || path[i] == '/' {
			return path[:i]
		}
	}
	return "."
}
