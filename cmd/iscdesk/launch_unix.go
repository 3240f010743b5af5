//go:build unix

package main

import (
	"os"
	"syscall"
)

const exeSuffix = ""

// startWindow replaces this process with the window's: its exit code, its
// signals and its standard streams are the caller's.
func startWindow(path string) error {
	return syscall.Exec(path, []string{path}, os.Environ())
}
