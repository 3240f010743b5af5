package apps

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// The scripts a package has for this system, and those for the other one
// (to say a package is for Linux and macOS only).
const (
	installScript   = "install.bat"
	uninstallScript = "uninstall.bat"
)

var otherSystemScripts = [...]string{"install.sh", "uninstall.sh"}

// createNoWindow keeps cmd.exe from opening a console window.
const createNoWindow = 0x08000000

// scriptCommand runs a batch file through cmd.exe without a window. The
// command line is written out whole: cmd.exe does not follow the quoting
// rules Go applies to arguments. Folder names cannot contain quotes on
// Windows, so quoting each path is enough.
//
// Cancellation kills cmd.exe only: Windows has no process groups to signal,
// and the job object that would take the script's children along is not in
// the standard library.
func scriptCommand(ctx context.Context, script, target string) (*exec.Cmd, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	comspec := os.Getenv("ComSpec")
	if comspec == "" {
		comspec = filepath.Join(os.Getenv("SystemRoot"), "System32", "cmd.exe")
	}
	cmd := exec.CommandContext(ctx, comspec)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// The whole command line, program name included.
		CmdLine:       `"` + comspec + `" /d /s /c ""` + script + `" "` + target + `""`,
		HideWindow:    true,
		CreationFlags: createNoWindow,
	}
	return cmd, nil
}
