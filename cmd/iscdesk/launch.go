package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// The window is its own binary, iscdesk-desktop, which links the GUI
// toolkit through cgo; this one stays pure Go so that it starts on
// machines without a display. Without arguments it hands over to the
// window.

// desktopName is the window binary's name (exeSuffix is ".exe" on Windows).
const desktopName = "iscdesk-desktop" + exeSuffix

var errNoWindow = errors.New("no desktop window is installed on this machine (" + desktopName +
	" is neither beside iscdesk nor on PATH): use the subcommands, see 'iscdesk --help'")

// openWindow starts the window binary found beside this executable, else on
// PATH, with this process's environment.
func openWindow() error {
	path, err := findWindow()
	if err != nil {
		return err
	}
	return startWindow(path)
}

func findWindow() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), desktopName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(desktopName); err == nil {
		return p, nil
	}
	return "", errNoWindow
}
