package redisadapter_test

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// recoveryWindow is the servers' MaxDisconnectionDuration in these tests.
const recoveryWindow = time.Minute

// streamsServer starts a Ferry server on factory's adapters, with
// connection state recovery when recover is set.
func streamsServer(t testing.TB, factory *redisadapter.Factory, codec parser.Codec, recover bool) *ferryServer {
	opts := &ferry.Options{Adapter: factory.Adapter, Parser: codec}
	if recover {
		opts.ConnectionStateRecovery = &ferry.RecoveryOptions{MaxDisconnectionDuration: recoveryWindow}
	}
	srv := ferry.NewServer(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &ferryServer{Server: srv, URL: ts.URL, factory: factory}
}

func TestStreamsGoCluster(t *testing.T) {
	r := startRedis(t)
	for _, mode := range []struct {
		name             string
		recover, sharded bool
	}{
		{"plain", false, false},
		{"recovery", true, false},
		{"recovery-sharded-pubsub", true, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			factory := func() *redisadapter.Factory {
				return redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{
					StreamName: "go-" + mode.name, ChannelPrefix: "go-" + mode.name, UseShardedPubSub: mode.sharded,
				})
			}
			a := streamsServer(t, factory(), nil, mode.recover)
			b := streamsServer(t, factory(), nil, mode.recover)
			if mode.sharded {
				// Counted with SHARDNUMSUB: the sharded channel is the one
				// subscribed.
				waitShardSubscribers(t, r, "go-"+mode.name+"#/#", 2)
			}
			testGoClusterOf(t, r, newClusterOf(t, a, b), "")
		})
	}
}

// TestStreamsOnlyPlaintext writes binary data as JSON, as Node's
// onlyPlaintext does: the other servers get it as the object
// JSON.stringify makes of a Buffer.
func TestStreamsOnlyPlaintext(t *testing.T) {
	r := startRedis(t)
	factory := func() *redisadapter.Factory {
		return redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{StreamName: "plain", OnlyPlaintext: true})
	}
	c := newClusterOf(t, streamsServer(t, factory(), nil, false), streamsServer(t, factory(), nil, false))
	got := make(chan map[string]any, 1)
	c.cb.On("bin", func(e *client.Event) {
		var v map[string]any
		_ = e.Args[0].Decode(&v)
		got <- v
	})
	require.NoError(t, c.a.Emit("bin", []byte{1, 2, 3}))
	e := lastOf(t, r, "plain")
	require.Equal(t, `{"packet":{"type":2,"data":["bin",{"type":"Buffer","data":[1,2,3]}]},"opts":{"rooms":[],"except":[],"flags":{}}}`, e.Values["data"])
	require.Equal(t, map[string]any{"type": "Buffer", "data": []any{int64(1), int64(2), int64(3)}}, recv(t, got))
}

// TestInteropStreams runs the mixed cluster's interop checks on the
// Streams protocol: two Ferry servers and a Node server on
// @socket.io/redis-streams-adapter 0.3.1, with and without recovery (which
// adds offsets to the events).
func TestInteropStreams(t *testing.T) {
	r := startRedis(t)
	for _, recover := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "recovery"}[recover]
		t.Run(name, func(t *testing.T) {
			env := []string{"MODE=streams", "NODE_PARSER=json"}
			if recover {
				env = append(env, "RECOVERY_MS="+strconv.Itoa(int(recoveryWindow.Milliseconds())))
			}
			m := newMixedOf(t, r, env, func(codec parser.Codec) *ferryServer {
				return streamsServer(t, redisadapter.NewStreams(r.Client(t), nil), codec, recover)
			})
			m.sharded = true
			testInterop(t, m)
		})
	}
}

// lastOf returns the newest entry of stream.
func lastOf(t *testing.T, r *redisServer, stream string) redis.XMessage {
	t.Helper()
	msgs, err := r.Client(t).XRevRangeN(bounded(t), stream, "+", "-", 1).Result()
	require.NoError(t, err)
	require.Len(t, msgs, 1, "stream %s is empty", stream)
	return msgs[0]
}

// TestStreamsMultiStream spreads namespaces over four streams, with Node:
// each namespace's entries go to the stream Node computes, "/notifications"
// included, whose hash is negative and so whose stream is "socket.io--3",
// which Node's servers never read but Ferry's do.
func TestStreamsMultiStream(t *testing.T) {
	r := startRedis(t)
	opts := &redisadapter.StreamsOptions{StreamCount: 4}
	a := streamsServer(t, redisadapter.NewStreams(r.Client(t), opts), parser.JSON(), false)
	b := streamsServer(t, redisadapter.NewStreams(r.Client(t), opts), parser.JSON(), false)
	namespaces := []string{"/", "/admin", "/notifications"}
	for _, s := range []*ferryServer{a, b} {
		for _, n := range namespaces {
			s.Of(n)
		}
	}
	peer := startPeerEnv(t, r, []string{"MODE=streams", "NODE_PARSER=json", "STREAM_COUNT=4", `NAMESPACES=["/","/admin","/notifications"]`})
	for _, n := range namespaces {
		waitServers(t, a, n, 3)
	}
	streamOf := map[string]string{"/": "socket.io-3", "/admin": "socket.io-0", "/notifications": "socket.io--3"}
	got := map[string]<-chan string{}
	for _, n := range namespaces {
		c, err := client.Dial(bounded(t), b.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true, Parser: parser.JSON()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		sock := c.Socket(n, nil)
		got[n] = events(sock, "n")
		require.NoError(t, sock.Connect(bounded(t)))
	}
	peer.track("node-admin")
	reply := peer.do("open", map[string]any{"client": "node-admin", "url": fmt.Sprintf("http://127.0.0.1:%d", peer.Port), "nsp": "/admin"})
	require.Nil(t, reply["error"])

	for _, n := range namespaces {
		// From Ferry: into the namespace's stream, and to B's client.
		require.NoError(t, a.Of(n).Emit("n", "ferry"+n))
		e := lastOf(t, r, streamOf[n])
		require.Equal(t, n, e.Values["nsp"])
		require.Contains(t, e.Values["data"], "ferry"+n)
		require.Equal(t, "ferry"+n, recv(t, got[n]))
		// From Node: the same stream, and B reads it.
		peer.do("emit", map[string]any{"nsp": n, "event": "n", "args": []any{"node" + n}})
		require.Equal(t, "node"+n, recv(t, got[n]))
		require.Contains(t, lastOf(t, r, streamOf[n]).Values["data"], "node"+n)
	}
	// Node's servers read the streams 0 to 3: Ferry reaches its clients
	// there.
	require.Equal(t, "n:ferry/admin", peer.nextStr("node-admin"))
	require.Equal(t, "n:node/admin", peer.nextStr("node-admin"))
}
