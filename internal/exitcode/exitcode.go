// Package exitcode holds the exit codes both command-line programs share,
// iscdesk and iscdesk-server (docs/cli.md, "Exit codes"). Each program keeps
// its own table from error kinds to these codes, next to its main.
package exitcode

// The exit codes of the command-line contract.
const (
	OK          = 0
	Internal    = 1   // unexpected internal error
	Usage       = 2   // usage error: unknown flag, missing argument, malformed input
	NotUsable   = 3   // the license is not usable (the message says why)
	Unreachable = 4   // the server (or, on the server, the marketplace) could not be reached
	Credentials = 5   // credentials rejected
	Storage     = 6   // the local secure storage failed
	Refused     = 7   // refused: a package or file failed a check, names nothing installed, or is not allowed
	Failed      = 8   // an external step (a vendor script) failed, or another process holds the resource
	Canceled    = 130 // interrupted (Ctrl-C), as shells report SIGINT
)
