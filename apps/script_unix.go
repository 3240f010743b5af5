//go:build unix

package apps

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// The scripts a package has for this system, and those for the other one
// (to say a package is for Windows only).
const (
	installScript   = "install.sh"
	uninstallScript = "uninstall.sh"
)

var otherSystemScripts = [...]string{"install.bat", "uninstall.bat"}

// scriptCommand runs a script with a "#!" line directly, so that its
// interpreter (bash, python) is the one the vendor chose, after making it
// executable (zip files made on Windows carry no execute bits); any other
// script goes to /bin/sh. It runs in a process group of its own, which
// cancellation kills whole.
func scriptCommand(ctx context.Context, script, target string) (*exec.Cmd, error) {
	f, err := os.Open(script)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 2)
	_, err = io.ReadFull(f, head)
	f.Close()
	var cmd *exec.Cmd
	if err == nil && string(head) == "#!" {
		st, err := os.Stat(script)
		if err != nil {
			return nil, err
		}
		if st.Mode()&0o100 == 0 {
			if err := os.Chmod(script, st.Mode().Perm()|0o100); err != nil {
				return nil, err
			}
		}
		cmd = exec.CommandContext(ctx, script, target)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", script, target)
	}
	setProcessGroup(cmd)
	cmd.Cancel = func() error {
		// A negative pid names the group: the processes the script
		// started die with it instead of running on unseen.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	return cmd, nil
}
