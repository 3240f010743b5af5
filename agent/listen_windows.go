package agent

// restrictSocket: the folder's ACL already keeps other users out.
func restrictSocket(string) error { return nil }
