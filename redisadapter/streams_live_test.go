package redisadapter_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// switchProxy is a reverse proxy whose upstream can be switched: the
// address a client keeps reconnecting to, whichever server is behind it.
type switchProxy struct {
	URL      string
	upstream atomic.Pointer[url.URL]
}

func startSwitchProxy(t *testing.T, to string) *switchProxy {
	p := &switchProxy{}
	p.to(t, to)
	tr := &http.Transport{}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(p.upstream.Load()) },
		Transport: tr,
	}
	ts := httptest.NewServer(rp)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		tr.CloseIdleConnections()
	})
	p.URL = ts.URL
	return p
}

func (p *switchProxy) to(t *testing.T, raw string) {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	p.upstream.Store(u)
}

// TestStreamsRecoveryServerKilled kills a server (a child process, with
// SIGKILL: it keeps no session) under a client in a room, while another
// server broadcasts to the room: the client reconnects to the other server
// and recovers, once the dead server's heartbeat is past, with its id, its
// room, and every event it missed, once each, in order.
func TestStreamsRecoveryServerKilled(t *testing.T) {
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) { testStreamsRecoveryServerKilled(t, mode) })
	}
}

func testStreamsRecoveryServerKilled(t *testing.T, mode string) {
	const heartbeat = 600 * time.Millisecond
	r := startRedis(t)
	a := startRelayChild(t, r, relayChildConfig{Recovery: true, HeartbeatTimeout: heartbeat})
	b := newRecoveringServer(t, redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{
		HeartbeatTimeout: heartbeat,
		RestoreWait:      within / 2,
	}))
	front := startSwitchProxy(t, a.url)

	var transports []string // upgrade: polling, then WebSocket
	if mode != "upgrade" {
		transports = []string{mode}
	}
	c, err := client.Dial(bounded(t), front.URL, &client.Options{
		Transports:           transports,
		Parser:               parser.JSON(),
		ReconnectionDelay:    20 * time.Millisecond,
		ReconnectionDelayMax: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sock := c.Socket("/", nil)
	connects := make(chan bool, 4)
	sock.OnConnect(func() { connects <- sock.Recovered() })
	news := events(sock, "news")
	require.NoError(t, sock.Connect(bounded(t)))
	require.False(t, recv(t, connects))
	sid := sock.ID()
	_, err = sock.EmitWithAck(bounded(t), "join", "room")
	require.NoError(t, err)

	// B reaches the client on A through the stream: the client has an
	// offset.
	require.NoError(t, b.To("room").Emit("news", "0"))
	require.Equal(t, "0", recv(t, news))

	// A writes the client's live record without delaying anything, its
	// room in it: a server killed before that write loses it.
	rdb := r.Client(t)
	require.Eventually(t, func() bool {
		keys, err := rdb.Keys(bounded(t), "ferry:live:s:*").Result()
		if err != nil || len(keys) != 1 {
			return false
		}
		raw, _ := rdb.HGet(bounded(t), keys[0], "session").Result()
		session, _ := base64.StdEncoding.DecodeString(raw)
		return bytes.Contains(session, []byte("room"))
	}, within, 5*time.Millisecond, "A never kept the client's live record")

	a.Kill()
	front.to(t, b.URL)
	missed := []string{"1", "2", "3"}
	for _, n := range missed {
		require.NoError(t, b.To("room").Emit("news", n))
	}

	require.True(t, recv(t, connects), "the client of the dead server did not recover")
	require.Equal(t, sid, sock.ID())
	for _, n := range missed {
		require.Equal(t, n, recv(t, news))
	}
	on := b.Of("/").Socket(sid)
	require.NotNil(t, on)
	require.ElementsMatch(t, []string{sid, "room"}, on.Rooms())
	// Live again, in its room, after what it missed, and nothing twice.
	require.NoError(t, b.To("room").Emit("news", "4"))
	require.Equal(t, "4", recv(t, news))
	require.Empty(t, news)
	require.Empty(t, connects)
}

// newRecoveringServer starts a Ferry server on the JSON parser with
// connection state recovery and factory's adapters, closed at the test's
// end.
func newRecoveringServer(t *testing.T, factory *redisadapter.Factory) *ferryServer {
	srv := ferry.NewServer(&ferry.Options{
		Adapter:                 factory.Adapter,
		Parser:                  parser.JSON(),
		ConnectionStateRecovery: &ferry.RecoveryOptions{},
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &ferryServer{Server: srv, URL: ts.URL, factory: factory}
}

// TestStreamsLiveRecords checks the live records a server keeps in Redis:
// one per connected socket, its rooms kept current, deleted when it
// disconnects; a dead server's records set to expire, and a server taken
// for dead wrongly keeping its own again.
func TestStreamsLiveRecords(t *testing.T) {
	const heartbeat = 300 * time.Millisecond
	r := startRedis(t)
	rdb := r.Client(t)
	ctx := bounded(t)
	srv := newRecoveringServer(t, redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{HeartbeatTimeout: heartbeat}))
	c, err := client.Dial(ctx, srv.URL, &client.Options{Transports: []string{"websocket"}, Parser: parser.JSON(), DisableReconnection: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	sock := c.Socket("/", nil)
	require.NoError(t, sock.Connect(ctx))
	on := serverSocket(t, srv, "/", sock)

	// The record of the socket, and its rooms as its server sees them.
	var key string
	record := func() (owner string, rooms []byte) {
		keys, err := rdb.Keys(ctx, "ferry:live:s:*").Result()
		require.NoError(t, err)
		if len(keys) != 1 {
			return "", nil
		}
		key = keys[0]
		rec, err := rdb.HGetAll(ctx, key).Result()
		require.NoError(t, err)
		session, err := base64.StdEncoding.DecodeString(rec["session"])
		require.NoError(t, err)
		require.Equal(t, "/", rec["nsp"])
		return rec["owner"], session
	}
	has := func(session []byte, room string) bool { return bytes.Contains(session, []byte(room)) }
	require.Eventually(t, func() bool { _, s := record(); return has(s, sock.ID()) }, within, 5*time.Millisecond)
	on.Join("room-a")
	require.Eventually(t, func() bool { _, s := record(); return has(s, "room-a") }, within, 5*time.Millisecond)
	on.Leave("room-a")
	on.Join("room-b")
	require.Eventually(t, func() bool { _, s := record(); return has(s, "room-b") && !has(s, "room-a") }, within, 5*time.Millisecond)
	owner, _ := record()
	pid := strings.TrimPrefix(key, "ferry:live:s:")
	require.True(t, rdb.SIsMember(ctx, "ferry:live:server:"+owner, pid).Val())
	require.Equal(t, time.Duration(-1), rdb.PTTL(ctx, key).Val(), "a live server's record does not expire")

	// A dead server (its heartbeat long past): its records expire after
	// MaxDisconnectionDuration (2 minutes by default), and its heartbeat is
	// removed.
	require.NoError(t, rdb.ZAdd(ctx, "ferry:live:servers", redis.Z{Score: 1, Member: "dead"}).Err())
	require.NoError(t, rdb.SAdd(ctx, "ferry:live:server:dead", "gone").Err())
	require.NoError(t, rdb.HSet(ctx, "ferry:live:s:gone", "owner", "dead", "nsp", "/", "session", "").Err())
	expiring := func(k string) bool {
		ttl := rdb.PTTL(ctx, k).Val()
		return ttl > 0 && ttl <= 2*time.Minute
	}
	require.Eventually(t, func() bool {
		return errors.Is(rdb.ZScore(ctx, "ferry:live:servers", "dead").Err(), redis.Nil) &&
			expiring("ferry:live:s:gone") && expiring("ferry:live:server:dead")
	}, within, 5*time.Millisecond)

	// This server taken for dead (as if cut off from Redis): at its next
	// heartbeat it is back, and its record is kept for good again.
	require.NoError(t, rdb.ZRem(ctx, "ferry:live:servers", owner).Err())
	require.NoError(t, rdb.PExpire(ctx, key, time.Minute).Err())
	require.Eventually(t, func() bool {
		return rdb.ZScore(ctx, "ferry:live:servers", owner).Err() == nil && rdb.PTTL(ctx, key).Val() == -1
	}, within, 5*time.Millisecond)

	// Disconnected: the record and its membership are gone.
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool {
		return rdb.Exists(ctx, key).Val() == 0 && !rdb.SIsMember(ctx, "ferry:live:server:"+owner, pid).Val()
	}, within, 5*time.Millisecond)
}
