//go:build !cgo

// Command iscdesk-desktop is iscdesk's desktop window. The window needs cgo
// (fyne draws with OpenGL): a build without it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "iscdesk: this build of iscdesk-desktop has no window: it was built without cgo (use iscdesk's subcommands, see 'iscdesk --help')")
	os.Exit(1)
}
