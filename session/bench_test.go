package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/internal/connhold"
	"github.com/ferryio/ferry/internal/fdlimit"
)

// Environment of the benchmark's client process.
const (
	benchClientEnv   = "FERRY_BENCH_CLIENT_URL" // set: this process is the client; the engine's ws:// URL
	benchSessionsEnv = "FERRY_BENCH_SESSIONS"   // number of sessions (default 10000)
)

// BenchmarkIdleWebSocketSessions measures what an idle WebSocket session
// costs the server: heap and stack bytes, and goroutines, per session.
//
// Method. The server (an Engine behind an httptest server on 127.0.0.1)
// runs in this process; the clients run in a child process, this test
// binary re-executed with FERRY_BENCH_CLIENT_URL set (see TestMain), so that
// nothing the clients allocate is counted. The child opens N WebSocket-only
// sessions, reads each open packet, reports "ready", then holds the
// connections until its stdin closes. The server process measures
// runtime.MemStats HeapInuse+StackInuse and runtime.NumGoroutine after a
// forced GC, before the sessions and once all N are registered, and
// reports the difference divided by N. Heartbeats are pushed out of the
// measurement window (PingInterval 1h) so the sessions are truly idle; the
// heartbeat timer itself is still counted.
//
// N is 10000 (1000 with -short), or FERRY_BENCH_SESSIONS. Each side needs N
// file descriptors; the soft limit is raised to the hard limit. The whole
// run is one measurement, so use -benchtime=1x:
//
//	go test ./session -run '^$' -bench IdleWebSocketSessions -benchtime=1x
func BenchmarkIdleWebSocketSessions(b *testing.B) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	if v := os.Getenv(benchSessionsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", benchSessionsEnv, v)
		}
	}
	if err := fdlimit.Raise(n + 256); err != nil {
		b.Fatal(err)
	}

	e := NewEngine(&Options{
		PingInterval: time.Hour,
		Logger:       slog.New(slog.DiscardHandler),
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	defer e.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + e.Path() + "?EIO=4&transport=websocket"

	before := serverFootprint()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchClientEnv+"="+url, benchSessionsEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		b.Fatalf("client process: %q, %v", line, err)
	}
	// Every open packet was read, and a session is registered before its
	// open packet is written.
	if got := e.Count(); got != n {
		b.Fatalf("%d sessions registered, want %d", got, n)
	}
	b.StopTimer()
	after := serverFootprint()

	b.ReportMetric(float64(after.bytes-before.bytes)/float64(n), "B/session")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/session")
	b.ReportMetric(0, "ns/op")

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("client process: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		b.Fatalf("shutdown: %v", err)
	}
}

// footprint is what the server process holds.
type footprint struct {
	bytes      int64 // HeapInuse + StackInuse
	goroutines int
}

func serverFootprint() footprint {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return footprint{bytes: int64(ms.HeapInuse + ms.StackInuse), goroutines: runtime.NumGoroutine()}
}

// runBenchClient is the benchmark's client process: it opens the sessions,
// says "ready", and holds them until stdin closes. It returns the exit code.
func runBenchClient() int {
	url := os.Getenv(benchClientEnv)
	n, err := strconv.Atoi(os.Getenv(benchSessionsEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench client:", err)
		return 2
	}
	if err := fdlimit.Raise(n + 256); err != nil {
		fmt.Fprintln(os.Stderr, "bench client:", err)
		return 2
	}
	d := gorilla.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 256, WriteBufferSize: 256}
	dial := func() (io.Closer, error) { return dialOpen(d, url) }
	if err := connhold.Hold(n, dial, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench client:", err)
		return 1
	}
	return 0
}

// dialOpen opens a WebSocket-only session and reads its open packet.
func dialOpen(d gorilla.Dialer, url string) (*gorilla.Conn, error) {
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil || len(data) == 0 || data[0] != '0' {
		conn.Close()
		return nil, fmt.Errorf("no open packet: %q, %v", data, err)
	}
	return conn, nil
}
