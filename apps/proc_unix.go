//go:build unix && !linux

package apps

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the script in a process group of its own.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
