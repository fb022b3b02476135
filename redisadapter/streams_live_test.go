package redisadapter_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

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
