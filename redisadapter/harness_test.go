package redisadapter_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// within bounds every wait in these tests.
const within = 10 * time.Second

func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	return ctx
}

func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("nothing received within %v", within)
		panic("unreachable")
	}
}

// redisServer is a redis-server the test started on a free loopback port,
// with no persistence, stopped at the test's end.
type redisServer struct {
	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd // guarded by mu: nil while stopped
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: run `make deps` (%v)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Addr returns the server's address.
func (r *redisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// Start starts the server (again) and waits until it answers PING.
func (r *redisServer) Start() {
	t := r.t
	t.Helper()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--daemonize", "no", "--loglevel", "warning")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	logs := bufio.NewScanner(out)
	go func() {
		for logs.Scan() {
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, within, 10*time.Millisecond, "redis-server did not answer PING")
}

// Stop stops the server and waits for it to exit.
func (r *redisServer) Stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Client returns a go-redis client of the server, closed at the test's
// end.
func (r *redisServer) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ferryServer is a Ferry server on httptest with a Redis adapter.
type ferryServer struct {
	*ferry.Server
	URL     string
	factory *redisadapter.Factory
}

// newFerry starts a Ferry server whose adapters come from factory, closed
// at the test's end.
func newFerry(t testing.TB, factory *redisadapter.Factory, codec parser.Codec) *ferryServer {
	srv := ferry.NewServer(&ferry.Options{Adapter: factory.Adapter, Parser: codec})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &ferryServer{Server: srv, URL: ts.URL, factory: factory}
}

// classicServer starts a Ferry server with the classic adapter on r.
func classicServer(t testing.TB, r *redisServer, opts *redisadapter.Options) *ferryServer {
	return newFerry(t, redisadapter.New(r.Client(t), opts), nil)
}

// goClient connects a Go client to nsp on s, closed at the test's end.
func goClient(t testing.TB, s *ferryServer, nsp string) *client.Socket {
	t.Helper()
	c, err := client.Dial(bounded(t), s.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sock := c.Socket(nsp, nil)
	require.NoError(t, sock.Connect(bounded(t)))
	return sock
}

// events returns a channel receiving the first argument (as a string) of
// each event name on sock.
func events(sock *client.Socket, name string) <-chan string {
	ch := make(chan string, 64)
	sock.On(name, func(e *client.Event) {
		var s string
		if len(e.Args) > 0 {
			_ = e.Args[0].Decode(&s)
		}
		ch <- s
	})
	return ch
}

// waitServers waits until nsp on s counts n servers.
func waitServers(t testing.TB, s *ferryServer, nsp string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		got, err := s.Of(nsp).ServerCount(bounded(t))
		return err == nil && got == n
	}, within, 5*time.Millisecond, "namespace %s never counted %d servers", nsp, n)
}

func serverSocket(t testing.TB, s *ferryServer, nsp string, c *client.Socket) *ferry.Socket {
	t.Helper()
	sock := s.Of(nsp).Socket(c.ID())
	require.NotNil(t, sock, "socket %s not on this server", c.ID())
	return sock
}

// childProcess is a server that the test binary runs in a child process
// (see runChild and runRelayChild).
type childProcess struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	ended bool // guarded by mu
}

// startChildProcess runs the test binary with env added to its
// environment, and returns it with the first line it prints. At the test's
// end its stdin is closed, which stops it, and it is waited for (killed
// if it takes more than a few seconds).
func startChildProcess(t *testing.T, env string) (*childProcess, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	c := &childProcess{cmd: cmd}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		c.wait()
	})
	return c, recv(t, line)
}

// Kill kills the child at once (SIGKILL) and waits for it.
func (c *childProcess) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// wait waits for the child to stop after its stdin closed, killing it if
// it takes more than a few seconds.
func (c *childProcess) wait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
