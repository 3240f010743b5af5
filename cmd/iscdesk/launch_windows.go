package main

import (
	"os"
	"os/exec"
)

const exeSuffix = ".exe"

// startWindow starts the window's process and returns: a window is not
// waited for from a console.
func startWindow(path string) error {
	cmd := exec.Command(path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
