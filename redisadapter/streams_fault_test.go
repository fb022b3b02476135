package redisadapter_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// TestStreamsRedisRestart stops Redis under two servers on the Streams
// adapter, and starts it again: local delivery goes on meanwhile (with
// recovery, without waiting for the stream), writes and reads fail
// (logged, counted), requests end within their timeout, and cross-server
// delivery resumes once Redis is back.
func TestStreamsRedisRestart(t *testing.T) {
	for _, recover := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "recovery"}[recover]
		t.Run(name, func(t *testing.T) { testStreamsRedisRestart(t, recover) })
	}
}

func testStreamsRedisRestart(t *testing.T, recover bool) {
	r := startRedis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	const timeout = 500 * time.Millisecond
	factory := func() *redisadapter.Factory {
		return redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{RequestsTimeout: timeout, Logger: logger, BlockTime: time.Second})
	}
	c := newClusterOf(t, streamsServer(t, factory(), nil, recover), streamsServer(t, factory(), nil, recover))
	gotA, gotB := events(c.ca, "news"), events(c.cb, "news")
	c.ca.On("ask", func(e *client.Event) { _ = e.Ack("a") })

	require.NoError(t, c.a.Emit("news", "before"))
	require.Equal(t, "before", recv(t, gotA))
	require.Equal(t, "before", recv(t, gotB))

	r.Stop()

	// Local delivery does not wait on Redis.
	for _, word := range []string{"during-1", "during-2"} {
		start := time.Now()
		_ = c.a.Emit("news", word)
		require.Equal(t, word, recv(t, gotA))
		require.Less(t, time.Since(start), time.Second, "local delivery waited on Redis")
	}

	// Writes and reads failed: counted and logged.
	require.Eventually(t, func() bool { return c.a.factory.Stats().PublishErrors > 0 }, within, 5*time.Millisecond)
	require.Eventually(t, func() bool { return c.a.factory.Stats().ReadErrors > 0 }, within, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "publish failed") && strings.Contains(logs.String(), "reading the stream failed")
	}, within, 5*time.Millisecond)

	// Requests to other servers fail cleanly, with this server's part.
	ctx := bounded(t)
	start := time.Now()
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
		_ = c.a.Emit("news", "after")
		select {
		case s := <-gotB:
			return s == "after"
		case <-time.After(20 * time.Millisecond):
			return false
		}
	}, within, time.Millisecond, "cross-server delivery did not resume")
	t.Logf("cross-server delivery resumed %v after redis-server was started again", time.Since(restarted).Round(time.Millisecond))
	waitServers(t, c.a, "/", 2)
	found, err = c.a.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, found, 2)
	drain(gotA)
	// And B's broadcasts reach A again, in the stream.
	require.NoError(t, c.b.Emit("news", "back"))
	require.Equal(t, "back", recv(t, gotA))
}

// TestStreamsConnectionsAndClose checks that a server's namespaces share
// one subscription connection and, per stream, one reading connection,
// and that closing the server promptly ends every goroutine the adapters
// started, and those connections.
func TestStreamsConnectionsAndClose(t *testing.T) {
	r := startRedis(t)
	admin := r.Client(t)
	readers := func() int {
		list, err := admin.ClientList(bounded(t)).Result()
		require.NoError(t, err)
		return strings.Count(list, "cmd=xread")
	}
	before := goleak.IgnoreCurrent()
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	f := redisadapter.NewStreams(rc, &redisadapter.StreamsOptions{StreamCount: 2})
	srv := ferry.NewServer(&ferry.Options{Adapter: f.Adapter, ConnectionStateRecovery: &ferry.RecoveryOptions{}})
	srv.Of("/")     // stream socket.io-1
	srv.Of("/chat") // socket.io-1 too (46457863 % 2)
	srv.Of("/admin")
	require.Eventually(t, func() bool { return readers() == 2 }, within, time.Millisecond)
	// Each namespace has subscribed once it counts itself among the
	// servers (the subscribers of its channel): only then are the
	// subscription connections counted.
	for _, nsp := range []string{"/", "/chat", "/admin"} {
		require.Eventually(t, func() bool {
			n, err := srv.Of(nsp).ServerCount(bounded(t))
			return err == nil && n == 1
		}, within, time.Millisecond, "namespace %s never subscribed", nsp)
	}
	require.Equal(t, 1, pubsubConnections(t, admin), "one subscription connection for three namespaces")

	start := time.Now()
	require.NoError(t, srv.Close())
	require.Less(t, time.Since(start), time.Second, "closing waited for a blocked read")
	require.NoError(t, rc.Close())
	require.Eventually(t, func() bool { return pubsubConnections(t, admin) == 0 && readers() == 0 }, within, time.Millisecond)
	goleak.VerifyNone(t, before)
}
