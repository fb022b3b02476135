package proxymatrix

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a component may take to listen.
const startTimeout = 15 * time.Second

// stopTimeout bounds how long a component may take to exit after SIGTERM
// before it is killed.
const stopTimeout = 5 * time.Second

// startAttempts is how many free ports a component is tried on: a port
// picked by the OS can be taken by another process before the component
// binds it.
const startAttempts = 4

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxymatrix: picking a port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// loopback returns "127.0.0.1:port".
func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// process is a component running as a child of the test process.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string        // its stdout and stderr
	exited chan struct{} // closed once it has exited
}

// errExited reports that a component exited before it listened.
var errExited = errors.New("exited before listening")

// start runs bin with args in dir, its output going to dir/<name>.log,
// and waits until addr accepts connections. The process is in its own
// process group, killed with the test binary if that dies.
func start(name, dir, addr, bin string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s %w (%v)\n%s", name, errExited, cmd.ProcessState, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s within %v\n%s", name, addr, startTimeout, p.output())
		}
	}
}

// startOnFreePort runs a component on a free port: conf writes its
// configuration for the port and returns the arguments to run bin with.
// It retries on another port if the component exits before listening,
// and stops the component when t ends, adding its log to a failed test's
// output.
func startOnFreePort(t testing.TB, name, bin string, conf func(dir string, port int) []string) (addr string) {
	t.Helper()
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		addr := loopback(port)
		p, err := start(name, dir, addr, bin, conf(dir, port)...)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					t.Logf("%s log:\n%s", name, p.output())
				}
			})
			return addr
		}
		if !errors.Is(err, errExited) || attempt == startAttempts {
			t.Fatalf("proxymatrix: starting %s (attempt %d): %v", name, attempt, err)
		}
	}
}

// output returns the component's log, for failure messages.
func (p *process) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// stop asks the component to exit (SIGTERM to its process group) and kills
// it if it has not within stopTimeout.
func (p *process) stop() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// binary returns the path of a Debian package's program, or fails t
// telling the reader to run `make deps`.
func binary(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is not installed: run `make deps` (it installs the Debian package %s)", name, pkg)
	return ""
}
