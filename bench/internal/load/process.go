package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ferryio/ferry/bench/internal/procstat"
)

// Protocol is what a server under test speaks.
type Protocol int

const (
	// SocketIO is Engine.IO v4 + Socket.IO v5 with the msgpack parser, or
	// with the JSON parser when started with the arguments "-parser json"
	// (scenario echo-json).
	SocketIO Protocol = iota
	// Raw is bench/cmd/rawserver's frame protocol on /ws.
	Raw
)

// String returns "socketio" or "raw".
func (p Protocol) String() string {
	if p == Raw {
		return "raw"
	}
	return "socketio"
}

// Server describes a server under test.
type Server struct {
	// Name labels its results: "ferry", "node", "raw".
	Name string
	// Protocol is what it speaks.
	Protocol Protocol
	// Command starts it. The process must print its port as the first line
	// of stdout, serve GET /stats, and exit on SIGTERM. A Socket.IO server
	// must take the arguments "-parser json" after its command line to
	// run with the JSON parser.
	Command []string
	// Dir is the command's working directory; "" is the current one.
	Dir string
}

// startTimeout bounds how long a server may take to print its port.
const startTimeout = 15 * time.Second

// process is a running server.
type process struct {
	cmd    *exec.Cmd
	pid    int
	addr   string // 127.0.0.1:port
	exited chan struct{}
}

// start runs s and waits for it to print its port.
func start(ctx context.Context, s Server) (*process, error) {
	if len(s.Command) == 0 {
		return nil, errors.New("load: server has no command")
	}
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Dir = s.Dir
	port := &portWriter{line: make(chan string, 1)}
	cmd.Stdout = port
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("load: starting %s: %w", s.Name, err)
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-port.line:
		n, err := strconv.Atoi(line)
		if err != nil || n <= 0 || n > 65535 {
			p.stop()
			return nil, fmt.Errorf("load: %s printed %q, not a port", s.Name, line)
		}
		p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(n))
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("load: %s exited before printing its port: %v", s.Name, cmd.ProcessState)
	case <-timer.C:
		p.stop()
		return nil, fmt.Errorf("load: %s printed no port within %v", s.Name, startTimeout)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited 5s later.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// rss returns the server's resident set size in bytes.
func (p *process) rss() (int64, error) { return procstat.RSS(p.pid) }

// cpu returns the CPU time the server has used so far.
func (p *process) cpu() (time.Duration, error) { return procstat.CPU(p.pid) }

// serverStats is what a server's /stats reports; Goroutines is absent
// (nil) for Node.
type serverStats struct {
	Goroutines *int   `json:"goroutines"`
	RSS        int64  `json:"rss"`
	HeapInuse  *int64 `json:"heap_inuse"` // Go
	HeapUsed   *int64 `json:"heap_used"`  // Node
}

// heap returns the heap figure the server reports, or -1.
func (s serverStats) heap() int64 {
	switch {
	case s.HeapInuse != nil:
		return *s.HeapInuse
	case s.HeapUsed != nil:
		return *s.HeapUsed
	}
	return -1
}

// stats fetches the server's /stats; with gc, the server first collects
// garbage and returns what it can to the operating system.
func (p *process) stats(ctx context.Context, gc bool) (serverStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := "http://" + p.addr + "/stats"
	if gc {
		url += "?gc=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverStats{}, err
	}
	// A fresh connection, closed afterwards, so that it does not stay
	// open on the server while memory is measured.
	req.Close = true
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return serverStats{}, err
	}
	defer resp.Body.Close()
	var s serverStats
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("load: /stats answered %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// portWriter is a server's stdout: it passes the first line on, and
// discards the rest.
type portWriter struct {
	mu   sync.Mutex
	buf  []byte // guarded by mu: the first line so far
	done bool   // guarded by mu
	line chan string
}

// Write collects the first line and passes it on once complete.
func (w *portWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.done = true
		w.line <- string(bytes.TrimSpace(w.buf[:i]))
	}
	return len(b), nil
}

// cpuNow returns this process's CPU time so far.
func cpuNow() time.Duration {
	d, _ := procstat.CPU(os.Getpid())
	return d
}
