package apps

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the script in a process group of its own. On Linux
// the script is also killed when this process dies (kill -9, a crash), so
// that a re-run never races a vendor script left behind. (Pdeathsig fires
// when the thread that started the child exits; Go ends a thread only when
// a goroutine locked to it returns without unlocking, so callers must not
// install from such a goroutine.)
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
