package redisadapter_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// lockedBuffer is a log sink safe to read while servers write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// drain empties ch.
func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestRedisRestart stops Redis under two servers and starts it again:
// local delivery goes on meanwhile, publishes fail (logged, counted),
// requests to other servers end within their timeout, and cross-server
// delivery resumes once Redis is back, without a restart of the servers.
func TestRedisRestart(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		name := map[bool]string{false: "classic", true: "sharded"}[sharded]
		t.Run(name, func(t *testing.T) { testRedisRestart(t, sharded) })
	}
}

func testRedisRestart(t *testing.T, sharded bool) {
	r := startRedis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	const timeout = 500 * time.Millisecond
	factory := func() *redisadapter.Factory {
		if sharded {
			return redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{RequestsTimeout: timeout, Logger: logger})
		}
		return redisadapter.New(r.Client(t), &redisadapter.Options{RequestsTimeout: timeout, Logger: logger})
	}
	c := newCluster(t, factory)
	gotA, gotB := events(c.ca, "news"), events(c.cb, "news")
	c.ca.On("ask", func(e *client.Event) { _ = e.Ack("a") })

	require.NoError(t, c.a.Emit("news", "before"))
	require.Equal(t, "before", recv(t, gotA))
	require.Equal(t, "before", recv(t, gotB))

	r.Stop()

	// Local delivery does not wait on Redis.
	start := time.Now()
	require.NoError(t, c.a.Emit("news", "during"))
	require.Equal(t, "during", recv(t, gotA))
	require.Less(t, time.Since(start), time.Second, "local delivery waited on Redis")

	// The publish failed: counted and logged.
	require.Eventually(t, func() bool { return c.a.factory.Stats().PublishErrors > 0 }, within, 5*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "publish failed") }, within, 5*time.Millisecond)

	// Requests to other servers fail cleanly, with this server's part.
	ctx := bounded(t)
	start = time.Now()
	found, err := c.a.Of("/").FetchSockets(ctx)
	require.Error(t, err)
	require.Len(t, found, 1)
	require.Equal(t, c.ca.ID(), found[0].ID)
	acks, err := c.a.Of("/").EmitWithAck(ctx, "ask")
	require.Error(t, err)
	require.Len(t, acks, 1)
	_, err = c.a.Of("/").ServerSideEmitWithAck(ctx, "hello")
	require.Error(t, err)
	require.Less(t, time.Since(start), within/2, "requests did not end within their timeout")

	restarted := time.Now()
	r.Start()

	// Cross-server delivery resumes: emit until B hears one.
	require.Eventually(t, func() bool {
		if err := c.a.Emit("news", "after"); err != nil {
			return false
		}
		select {
		case s := <-gotB:
			return s == "after"
		case <-time.After(20 * time.Millisecond):
			return false
		}
	}, within, time.Millisecond, "cross-server delivery did not resume")
	t.Logf("cross-server delivery resumed %v after redis-server was started again", time.Since(restarted).Round(time.Millisecond))
	require.Less(t, time.Since(restarted), 5*time.Second)
	waitServers(t, c.a, "/", 2)
	found, err = c.a.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, found, 2)
	drain(gotA)
}

// child is a Ferry server in a child process (the test binary, see
// runChild).
type child struct {
	*childProcess
	URL string
}

func startChild(t *testing.T, r *redisServer) *child {
	t.Helper()
	p, url := startChildProcess(t, childRedisEnv+"="+r.Addr())
	require.True(t, strings.HasPrefix(url, "http://"), "child said %q", url)
	return &child{childProcess: p, URL: url}
}

// TestServerKilled freezes, then kills, one server of two: requests from
// the other end within their timeout with what the live server holds.
func TestServerKilled(t *testing.T) {
	r := startRedis(t)
	const timeout = 500 * time.Millisecond
	a := newFerry(t, redisadapter.New(r.Client(t), &redisadapter.Options{RequestsTimeout: timeout}), nil)
	kid := startChild(t, r)
	ca := goClient(t, a, "/")
	ca.On("ask", func(e *client.Event) { _ = e.Ack("a") })
	kc, err := client.Dial(bounded(t), kid.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = kc.Close() })
	require.NoError(t, kc.Socket("/", nil).Connect(bounded(t)))
	waitServers(t, a, "/", 2)
	ctx := bounded(t)
	found, err := a.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, found, 2)

	// Frozen: still counted by Redis, but silent.
	require.NoError(t, kid.cmd.Process.Signal(syscall.SIGSTOP))
	start := time.Now()
	found, err = a.Of("/").FetchSockets(ctx)
	elapsed := time.Since(start)
	require.ErrorContains(t, err, "timeout reached: only 0 responses received out of 1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, found, 1)
	require.Equal(t, ca.ID(), found[0].ID)
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, timeout+time.Second)

	// An acknowledged broadcast without a deadline returns after the
	// requests timeout with the live server's acks.
	start = time.Now()
	acks, err := a.Of("/").EmitWithAck(context.Background(), "ask")
	require.NoError(t, err)
	require.Len(t, acks, 1)
	require.Less(t, time.Since(start), timeout+time.Second)

	// A server-side emit with ack says how many answered.
	replies, err := a.Of("/").ServerSideEmitWithAck(ctx, "hello")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Empty(t, replies)

	// Killed: its connection to Redis closes, and it is no longer counted.
	kid.Kill()
	waitServers(t, a, "/", 1)
	start = time.Now()
	found, err = a.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Less(t, time.Since(start), timeout)
}
