package nginxtest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal puts nginx in its own process group, so that kill reaches
// its worker too, and has the kernel kill the master if the test binary
// dies without running its cleanups.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill kills nginx's master and worker.
func (p *process) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}
