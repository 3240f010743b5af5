package solver

import "os/exec"

// killTreeOnCancel keeps exec's default on Windows: cancellation kills the
// solver process. Windows has no process groups to signal; processes the
// solver started itself outlive it (a job object would be needed for them).
func killTreeOnCancel(*exec.Cmd) {}
