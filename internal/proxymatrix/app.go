package proxymatrix

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/nodetest"
)

// Tick is the gap between two numbered messages, each way.
const Tick = 100 * time.Millisecond

// ServerConfig configures the matrix app's server, Ferry or Node. Zero
// fields get the server's defaults.
type ServerConfig struct {
	PingInterval   time.Duration
	PingTimeout    time.Duration
	UpgradeTimeout time.Duration
	// MaxPollHold is Ferry's option; the Node server has no counterpart.
	MaxPollHold time.Duration
	// MaxPayload is the largest message, in bytes (maxHttpBufferSize).
	MaxPayload int64
	// Recovery turns on connection state recovery, with the server's
	// defaults (Ferry's ConnectionStateRecovery, Node's
	// connectionStateRecovery). The app then emits its numbers while the
	// client is away too, for the server to keep and replay.
	Recovery bool
}

// App is the matrix app served by Ferry or by Node socket.io.
type App struct {
	// Kind is "ferry" or "node".
	Kind string
	// Addr is "127.0.0.1:port", for a proxy's upstream.
	Addr string
	logs *logBuffer // Ferry's log, nil for Node
	// exchanging is closed once the app received a client's first number.
	exchanging chan struct{}
}

// Exchanging returns a channel closed once the app received a client's
// first number: from then on, numbers flow both ways.
func (a *App) Exchanging() <-chan struct{} { return a.exchanging }

// URL returns the app's base URL.
func (a *App) URL() string { return "http://" + a.Addr }

// Logs returns what Ferry logged, debug level included, and the reason of
// each disconnection ("" for Node).
func (a *App) Logs() string {
	if a.logs == nil {
		return ""
	}
	return a.logs.String()
}

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// peer is the app's record of one client, across its reconnections.
type peer struct {
	mu      sync.Mutex
	socket  *ferry.Socket // guarded by mu: the client's current socket
	keep    bool          // set when made: the server keeps events for replay, so emit while the client is away
	down    int           // guarded by mu: "down" numbers emitted so far
	up      []int         // guarded by mu: "up" numbers received
	ticking bool          // guarded by mu
	stopped bool          // guarded by mu: the client asked for its report
}

// StartFerry serves the matrix app with Ferry on 127.0.0.1 (see
// matrix-server.mjs for the app: "welcome" on connection, "down" numbers
// from the first "up" one on, "big" sent back as "big-back", "report"
// acked, then "end"), with the page Chromium opens at
// /matrix/. It is closed when t ends.
func StartFerry(t testing.TB, cfg ServerConfig) *App {
	t.Helper()
	logs := &logBuffer{}
	opts := &ferry.Options{
		PingInterval:      cfg.PingInterval,
		PingTimeout:       cfg.PingTimeout,
		UpgradeTimeout:    cfg.UpgradeTimeout,
		MaxPollHold:       cfg.MaxPollHold,
		MaxHTTPBufferSize: cfg.MaxPayload,
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if cfg.Recovery {
		opts.ConnectionStateRecovery = &ferry.RecoveryOptions{}
	}
	srv := ferry.NewServer(opts)
	app := &App{Kind: "ferry", logs: logs, exchanging: make(chan struct{})}
	var exchanging sync.Once
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	peers := map[string]*peer{}
	srv.OnConnection(func(s *ferry.Socket) {
		var auth struct {
			ID string `json:"id"`
		}
		s.Handshake().DecodeAuth(&auth)
		if auth.ID == "" {
			auth.ID = s.ID()
		}
		mu.Lock()
		p := peers[auth.ID]
		if p == nil {
			p = &peer{keep: cfg.Recovery}
			peers[auth.ID] = p
		}
		mu.Unlock()
		p.mu.Lock()
		p.socket = s
		p.mu.Unlock()
		fmt.Fprintf(logs, "matrix app: %s (%s) connected, recovered: %t\n", auth.ID, s.ID(), s.Recovered())
		s.Emit("welcome", s.ID())
		s.OnDisconnect(func(s *ferry.Socket, reason ferry.DisconnectReason) {
			fmt.Fprintf(logs, "matrix app: %s (%s) disconnected: %s\n", auth.ID, s.ID(), reason)
		})
		s.On("up", func(e *ferry.Event) {
			var n int
			if e.Decode(&n) != nil {
				return
			}
			p.mu.Lock()
			p.up = append(p.up, n)
			start := !p.ticking && !p.stopped
			p.ticking = true
			p.mu.Unlock()
			if start {
				exchanging.Do(func() { close(app.exchanging) })
				wg.Go(func() { p.tick(done) })
			}
		})
		s.On("big", func(e *ferry.Event) {
			var b []byte
			if e.Decode(&b) == nil {
				s.Emit("big-back", bytes.Repeat([]byte{7}, len(b)))
			}
		})
		s.On("report", func(e *ferry.Event) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.stopped = true
			e.Ack(map[string]any{"up": p.up, "down": p.down})
			s.Emit("end")
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/matrix/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page("/socket.io/ferry.min.js"))
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(done)
		wg.Wait()
		srv.Close()
		hs.Close()
		if t.Failed() {
			t.Logf("ferry log:\n%s", logs.String())
		}
	})
	app.Addr = hs.Listener.Addr().String()
	return app
}

// tick emits "down" numbers every Tick to the client's current socket
// until the client asks for its report or done is closed. A number
// emitted while the client is not connected is lost, unless the server
// keeps it for replay.
func (p *peer) tick(done <-chan struct{}) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		// Emitted under mu, which the report takes too: a number counted
		// in the report is queued ahead of the report's ack. Emit only
		// queues.
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return
		}
		if p.keep || p.socket.Connected() {
			p.socket.Emit("down", p.down)
		}
		p.down++
		p.mu.Unlock()
	}
}

// page is the blank page Chromium opens, loading Ferry's browser bundle.
func page(bundle string) string {
	return `<!doctype html><meta charset="utf-8"><title>matrix</title><script src="` + bundle + `"></script>`
}

// StartNode serves the matrix app with Node socket.io 4.8
// (internal/nodetest/node/matrix-server.mjs) on 127.0.0.1. It is stopped
// when t ends.
func StartNode(t testing.TB, cfg ServerConfig) *App {
	t.Helper()
	nodetest.Require(t)
	env := append(os.Environ(), "BUNDLE="+bundlePath())
	for k, d := range map[string]time.Duration{"PING_INTERVAL": cfg.PingInterval, "PING_TIMEOUT": cfg.PingTimeout, "UPGRADE_TIMEOUT": cfg.UpgradeTimeout} {
		if d > 0 {
			env = append(env, k+"="+strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	if cfg.MaxPayload > 0 {
		env = append(env, "MAX_PAYLOAD="+strconv.FormatInt(cfg.MaxPayload, 10))
	}
	if cfg.Recovery {
		env = append(env, "RECOVERY=1")
	}
	cmd := exec.Command("node", filepath.Join(nodetest.Dir(), "matrix-server.mjs"))
	cmd.Dir = nodetest.Dir()
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("proxymatrix: starting the Node server: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("node matrix-server stderr:\n%s", stderr.String())
		}
	})
	// The first line is the port; a later "exchanging" line says a client's
	// numbers started. The reader ends when the process does.
	port := make(chan string, 1)
	exchanging := make(chan struct{})
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		port <- strings.TrimSpace(line)
		for announced := false; ; {
			line, err := r.ReadString('\n')
			if strings.TrimSpace(line) == "exchanging" && !announced {
				close(exchanging)
				announced = true
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case p := <-port:
		if _, err := strconv.Atoi(p); err != nil {
			t.Fatalf("proxymatrix: the Node server printed %q, not a port\n%s", p, stderr.String())
		}
		return &App{Kind: "node", Addr: "127.0.0.1:" + p, exchanging: exchanging}
	case <-time.After(startTimeout):
		t.Fatalf("proxymatrix: the Node server did not start within %v\n%s", startTimeout, stderr.String())
	}
	return nil
}

// bundlePath returns the path of Ferry's browser bundle, which the Node
// server serves to Chromium as Ferry does.
func bundlePath() string {
	return filepath.Join(filepath.Dir(nodetest.Dir()), "..", "jsclient", "dist", "ferry.min.js")
}

// waitCtx returns a context bounded by d, cancelled when t ends.
func waitCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
