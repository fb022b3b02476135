//go:build !linux

package nginxtest

import "os/exec"

// setDeathSignal does nothing outside Linux.
func setDeathSignal(cmd *exec.Cmd) {}

// kill kills nginx's master.
func (p *process) kill() {
	p.cmd.Process.Kill()
}
