package client_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryio/ferry/internal/nodetest"
)

// serverConfig selects a reference server: node/refserver.mjs run with
// these settings (zero values mean the script's defaults).
type serverConfig struct {
	parser       string // "msgpack" or "json"
	pingInterval int    // ms
	pingTimeout  int    // ms
	maxPayload   int    // bytes
	recovery     int    // ms: connection state recovery's maxDisconnectionDuration; 0: off
}

func (c serverConfig) env() []string {
	env := []string{"PARSER=" + c.parser}
	if c.pingInterval > 0 {
		env = append(env, "PING_INTERVAL="+strconv.Itoa(c.pingInterval))
	}
	if c.pingTimeout > 0 {
		env = append(env, "PING_TIMEOUT="+strconv.Itoa(c.pingTimeout))
	}
	if c.maxPayload > 0 {
		env = append(env, "MAX_PAYLOAD="+strconv.Itoa(c.maxPayload))
	}
	if c.recovery > 0 {
		env = append(env, "RECOVERY="+strconv.Itoa(c.recovery))
	}
	return env
}

// nodeServer is a running refserver.mjs process.
type nodeServer struct {
	cmd      *exec.Cmd
	stderr   *os.File
	url      string
	stopOnce sync.Once
}

// startNodeServer starts refserver.mjs and waits for its port. It uses no
// goroutine: stdout and stderr are files, so the process outlives tests
// without tripping the leak check.
func startNodeServer(cfg serverConfig) (*nodeServer, error) {
	stderr, err := os.CreateTemp("", "refserver-*.log")
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command("node", filepath.Join(nodetest.Dir(), "refserver.mjs"))
	cmd.Dir = nodetest.Dir()
	cmd.Env = append(os.Environ(), cfg.env()...)
	cmd.Stdout, cmd.Stderr = w, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	s := &nodeServer{cmd: cmd, stderr: stderr}
	if err := r.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		s.stop()
		return nil, err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		log := s.log()
		s.stop()
		return nil, fmt.Errorf("refserver did not report its port: %v\n%s", err, log)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("refserver printed %q instead of a port", line)
	}
	s.url = "http://127.0.0.1:" + strconv.Itoa(port)
	return s, nil
}

func (s *nodeServer) log() string {
	b, _ := os.ReadFile(s.stderr.Name())
	return string(b)
}

// stop kills the process and waits for it. It is idempotent.
func (s *nodeServer) stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.stderr.Close()
		os.Remove(s.stderr.Name())
	})
}

// servers holds the reference servers shared by the tests, one per
// configuration; TestMain stops them after the leak check.
var servers = struct {
	sync.Mutex
	m map[serverConfig]*nodeServer
}{m: make(map[serverConfig]*nodeServer)}

// refServer returns the URL of the shared reference server for cfg,
// starting it on first use.
func refServer(t testing.TB, cfg serverConfig) string {
	t.Helper()
	nodetest.Require(t)
	servers.Lock()
	defer servers.Unlock()
	if s, ok := servers.m[cfg]; ok {
		return s.url
	}
	s, err := startNodeServer(cfg)
	if err != nil {
		t.Fatalf("start reference server: %v", err)
	}
	servers.m[cfg] = s
	return s.url
}

// ownServer starts a reference server for t alone; the test may stop it
// early, and t.Cleanup stops it otherwise.
func ownServer(t testing.TB, cfg serverConfig) *nodeServer {
	t.Helper()
	nodetest.Require(t)
	s, err := startNodeServer(cfg)
	if err != nil {
		t.Fatalf("start reference server: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

func stopServers() {
	servers.Lock()
	defer servers.Unlock()
	for k, s := range servers.m {
		s.stop()
		delete(servers.m, k)
	}
}
