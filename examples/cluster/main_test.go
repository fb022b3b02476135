package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// within bounds each wait of these tests: the cluster's start, its stop,
// a message crossing it.
const within = 30 * time.Second

// endpoint is a process the cluster command listed: its name, address and
// pid.
type endpoint struct {
	name string
	addr string // host:port
	pid  int
}

// running is the cluster command started by a test, on free ports.
type running struct {
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan struct{} // closed once the command has exited
	nginx   endpoint
	servers []endpoint
	redis   endpoint
}

// all returns every endpoint: nginx, the servers, Redis.
func (r *running) all() []endpoint {
	return append(append([]endpoint{r.nginx}, r.servers...), r.redis)
}

// buildCommand builds this program into a temporary folder and returns its
// path.
func buildCommand(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build the example")
	bin := filepath.Join(t.TempDir(), "cluster")
	out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// listed matches a line of the command's summary: name, address, pid.
var listed = regexp.MustCompile(`^\s+(nginx|server-\d+|redis)\s+(?:http://)?([0-9.]+:\d+)/?\s+\(pid (\d+)\)`)

// startCluster runs the cluster command with args on free ports, and
// returns once it has listed its processes. The command is killed at the
// test's end if still running; its logs are shown if the test failed.
func startCluster(t *testing.T, args ...string) *running {
	t.Helper()
	bin := buildCommand(t)
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-server-port", "0", "-redis-port", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	r := &running{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = r.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if !r.done() {
			// A test that failed midway: stop the cluster as Ctrl-C
			// would, then make sure.
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-r.exited:
			case <-time.After(within):
				_ = cmd.Process.Kill()
				<-r.exited
			}
		}
		for _, e := range r.all() {
			if e.pid > 0 && groupAlive(e.pid) {
				t.Errorf("%s's process group (%d) outlived the cluster command", e.name, e.pid)
				_ = syscall.Kill(-e.pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("cluster command output:\n%s", r.stderr.String())
		}
	})

	// One goroutine reads the command's stdout to its end, handing each
	// line on (the summary is a dozen lines; none is dropped before the
	// buffer fills), then waits for the command: Wait must come after the
	// last read from the pipe.
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(r.exited)
	}()

	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case line := <-lines:
			if m := listed.FindStringSubmatch(line); m != nil {
				pid, err := strconv.Atoi(m[3])
				require.NoError(t, err)
				e := endpoint{name: m[1], addr: m[2], pid: pid}
				switch e.name {
				case "nginx":
					r.nginx = e
				case "redis":
					r.redis = e
				default:
					r.servers = append(r.servers, e)
				}
			}
			if strings.Contains(line, "Ctrl-C stops everything") {
				require.NotEmpty(t, r.nginx.addr, "no nginx line")
				require.NotEmpty(t, r.redis.addr, "no redis line")
				return r
			}
		case <-r.exited:
			t.Fatalf("the cluster command ended (%v) before listing its processes:\n%s", r.cmd.ProcessState, r.stderr.String())
		case <-timer.C:
			t.Fatalf("the cluster command did not list its processes within %v:\n%s", within, r.stderr.String())
		}
	}
}

// done reports whether the command has exited.
func (r *running) done() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wait waits for the command to exit and returns its exit status.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(within):
		t.Fatalf("the cluster command did not exit within %v", within)
	}
	return r.cmd.ProcessState.ExitCode()
}

// interrupt sends the command SIGINT, as Ctrl-C does, and returns its exit
// status.
func (r *running) interrupt(t *testing.T) int {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(os.Interrupt))
	return r.wait(t)
}

// requireAllGone checks that every process the command listed has exited
// and no longer listens.
func (r *running) requireAllGone(t *testing.T) {
	t.Helper()
	for _, e := range r.all() {
		assert.False(t, groupAlive(e.pid), "%s (pid %d) or a process of its group still runs", e.name, e.pid)
		c, err := net.DialTimeout("tcp", e.addr, time.Second)
		if err == nil {
			c.Close()
		}
		assert.Error(t, err, "%s still listens on %s", e.name, e.addr)
	}
}

// server returns the listed chat server at addr.
func (r *running) server(addr string) (endpoint, bool) {
	for _, s := range r.servers {
		if s.addr == addr {
			return s, true
		}
	}
	return endpoint{}, false
}

// withTimeout returns a context bounded by within, cancelled at the test's
// end.
func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	return ctx
}

// groupAlive reports whether a process of process group pgid is running:
// each child of the cluster leads a group of its own. Zombies do not count
// (when the command is killed, its children are reaped by init, later).
func groupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // it exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
