package redisadapter_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// relayServer starts a Ferry server on r with the classic adapter and a
// relay, whose "echo" handler answers each message with the same event,
// and "ack" handler acknowledges it, and returns it with its relay.
func relayServer(t testing.TB, r *redisServer, timeout time.Duration) (*ferryServer, *redisadapter.Relay) {
	t.Helper()
	rdb := r.Client(t)
	relay := redisadapter.NewRelay(rdb, nil)
	srv := ferry.NewServer(&ferry.Options{
		Adapter: redisadapter.New(rdb, nil).Adapter,
		Relay:   &ferry.RelayOptions{Bus: relay, Timeout: timeout},
	})
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("echo", func(e *ferry.Event) {
			var n int
			if e.Decode(&n) == nil {
				_ = s.Emit("echo", n)
			}
		})
		s.On("ack", func(e *ferry.Event) { _ = e.Ack(e.Args) })
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &ferryServer{Server: srv, URL: ts.URL}, relay
}

// roundRobin starts a reverse proxy that sends each request (WebSocket
// handshakes included) to the next of upstreams, as a load balancer
// without sticky sessions does.
func roundRobin(t *testing.T, upstreams ...string) string {
	t.Helper()
	var proxies []*httputil.ReverseProxy
	for _, u := range upstreams {
		target, err := url.Parse(u)
		require.NoError(t, err)
		p := httputil.NewSingleHostReverseProxy(target)
		// A client that goes away mid-request is no error here.
		p.ErrorLog = log.New(io.Discard, "", 0)
		proxies = append(proxies, p)
	}
	var next atomic.Uint64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[int(next.Add(1)-1)%len(proxies)].ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestRelayNoStickySessions(t *testing.T) {
	r := startRedis(t)
	a, relayA := relayServer(t, r, 0)
	b, relayB := relayServer(t, r, 0)
	require.NotEqual(t, relayA.Node(), relayB.Node())
	front := roundRobin(t, a.URL, b.URL)
	for name, opts := range map[string]*client.Options{
		"polling": {Transports: []string{"polling"}},
		"upgrade": {Transports: []string{"polling", "websocket"}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.DisableReconnection = true
			c, err := client.Dial(bounded(t), front, opts)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			sock := c.Socket("/", nil)
			echoes := make(chan int, 100)
			sock.On("echo", func(e *client.Event) {
				var n int
				require.NoError(t, e.Args[0].Decode(&n))
				echoes <- n
			})
			require.NoError(t, sock.Connect(bounded(t)))
			for i := range 50 {
				require.NoError(t, sock.Emit("echo", i))
				require.Equal(t, i, recv(t, echoes))
			}
			if name == "upgrade" {
				require.Eventually(t, func() bool { return c.Transport() == "websocket" }, within, time.Millisecond)
			}
		})
	}
	// Both relays carried messages.
	assert.NotZero(t, relayA.Stats().Published)
	assert.NotZero(t, relayB.Stats().Published)
}
