//go:build unix && !linux

package main

import (
	"os/exec"
	"syscall"
)

// detach puts the child in a process group of its own, so that the
// terminal's Ctrl-C reaches the supervisor alone. Outside Linux nothing
// kills the children if the supervisor dies without stopping them.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the child's process group: nginx's master and worker.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
