package main

import (
	"os/exec"
	"syscall"
)

// detach puts the child in a process group of its own (the terminal's
// Ctrl-C then reaches the supervisor alone, which stops the children in
// order), and has the kernel send it SIGTERM if the supervisor dies
// without stopping it: each child then stops by itself (SIGKILL would
// leave nginx's worker running without its master).
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// killGroup kills the child's process group: nginx's master and worker.
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
