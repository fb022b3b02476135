package redisadapter_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
)

// routeProxy starts a reverse proxy that sends handshakes (requests
// without a sid) to first and every other request (GETs, POSTs and the
// WebSocket of a session) to rest: with two servers, every request of a
// session after its handshake is relayed.
func routeProxy(t testing.TB, first, rest string) string {
	t.Helper()
	proxy := func(raw string) *httputil.ReverseProxy {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		p := httputil.NewSingleHostReverseProxy(u)
		// A client that goes away mid-request is no error here.
		p.ErrorLog = log.New(io.Discard, "", 0)
		return p
	}
	hs, other := proxy(first), proxy(rest)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" {
			hs.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// echoTimes connects a Go client to base over transports and returns the
// durations of n acknowledged emits, one after the other.
func echoTimes(t testing.TB, base string, transports []string, n int) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, base, &client.Options{Transports: transports, DisableReconnection: true})
	require.NoError(t, err)
	defer c.Close()
	sock := c.Socket("/", nil)
	require.NoError(t, sock.Connect(ctx))
	want := transports[len(transports)-1]
	require.Eventually(t, func() bool { return c.Transport() == want }, within, time.Millisecond)
	times := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		_, err := sock.EmitWithAck(ctx, "ack", i)
		times[i] = time.Since(start)
		require.NoError(t, err)
	}
	slices.Sort(times)
	return times
}

// quantile returns the q quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1))]
}

// latencyModes are the transports measured: long-polling, and a
// WebSocket reached by an upgrade (relayed, it is bridged).
var latencyModes = map[string][]string{
	"polling":   {"polling"},
	"websocket": {"polling", "websocket"},
}

// TestRelayLatency bounds what relaying adds to a round trip (an
// acknowledged emit) over long-polling and over an upgraded WebSocket,
// compared with the same requests served by the session's own server
// through the same proxy. BenchmarkRelayLatency measures it.
func TestRelayLatency(t *testing.T) {
	r := startRedis(t)
	a, _ := relayServer(t, r, 0)
	b, _ := relayServer(t, r, 0)
	for name, transports := range latencyModes {
		t.Run(name, func(t *testing.T) {
			direct := echoTimes(t, routeProxy(t, a.URL, a.URL), transports, 200)
			relayed := echoTimes(t, routeProxy(t, a.URL, b.URL), transports, 200)
			t.Logf("slowest relayed: %v", relayed[len(relayed)-5:])
			t.Logf("direct p50 %v p99 %v; relayed p50 %v p99 %v", quantile(direct, .5), quantile(direct, .99),
				quantile(relayed, .5), quantile(relayed, .99))
			// Two Redis round trips each way at most, on loopback: far
			// less than these bounds, which hold under the race detector
			// on a loaded machine.
			require.Less(t, quantile(relayed, .5)-quantile(direct, .5), 20*time.Millisecond)
			require.Less(t, quantile(relayed, .99), quantile(direct, .99)+100*time.Millisecond)
		})
	}
}

// BenchmarkRelayLatency measures the round trip of an acknowledged emit,
// direct and relayed, over long-polling and an upgraded WebSocket, and
// reports its median and 99th percentile in microseconds.
func BenchmarkRelayLatency(b *testing.B) {
	r := startRedis(b)
	a, _ := relayServer(b, r, 0)
	other, _ := relayServer(b, r, 0)
	for _, name := range []string{"polling", "websocket"} {
		for _, route := range []string{"direct", "relayed"} {
			b.Run(fmt.Sprintf("%s/%s", name, route), func(b *testing.B) {
				rest := a.URL
				if route == "relayed" {
					rest = other.URL
				}
				times := echoTimes(b, routeProxy(b, a.URL, rest), latencyModes[name], b.N)
				b.ReportMetric(float64(quantile(times, .5).Microseconds()), "p50-µs")
				b.ReportMetric(float64(quantile(times, .99).Microseconds()), "p99-µs")
			})
		}
	}
}
