//go:build unix

package solver

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// killTreeOnCancel starts the solver in a process group of its own and makes
// cancellation kill the whole group, so the processes a solver script starts
// (the real solver, MPI ranks) die with it instead of running on unseen.
func killTreeOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// SIGKILL: a solver past its time limit is not trusted to stop on
		// a polite signal, and a negative pid names the group.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
