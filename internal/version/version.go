// Package version holds the release version of iscdesk. FyneApp.toml carries
// the same number for packaging; a test keeps the two equal, so this constant
// is the one place to change it.
//
// It imports nothing.
package version

// Version is the release version (semantic versioning, no leading v).
const Version = "0.1.0"

// UserAgent is sent with every outbound HTTP call.
const UserAgent = "iscdesk/" + Version
