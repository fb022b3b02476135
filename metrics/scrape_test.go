package metrics_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/metrics"
	"github.com/ferryio/ferry/parser"
)

// within bounds every wait: nothing legitimate takes that long, even on a
// loaded machine.
const within = 10 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// bench is a Ferry server with a Collector, serving /socket.io/ and
// /metrics on 127.0.0.1.
type bench struct {
	url     string
	srv     *ferry.Server
	sockets chan *ferry.Socket // each socket that connects
}

func newBench(t *testing.T, maxQueued int) *bench {
	t.Helper()
	col := metrics.New(nil)
	srv := ferry.NewServer(&ferry.Options{
		Observer:         col.Observer(),
		MaxQueuedPackets: maxQueued,
		// No heartbeat within a test: each step counts every packet.
		PingInterval: time.Hour,
		PingTimeout:  time.Hour,
		Logger:       quiet,
	})
	b := &bench{srv: srv, sockets: make(chan *ferry.Socket, 16)}
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("echo", func(e *ferry.Event) { e.Ack("back") })
		b.sockets <- s
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	b.url = hs.URL
	return b
}

// scrape scrapes the server's /metrics.
func (b *bench) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	return scrape(t, b.url+"/metrics")
}

// goClient is a Go client connected to "/", with its server-side socket
// and the events it received.
type goClient struct {
	c      *client.Client
	s      *client.Socket
	server *ferry.Socket
	news   chan *client.Event
	silent chan *client.Event
}

func (b *bench) connect(t *testing.T, transports ...string) *goClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	c, err := client.Dial(ctx, b.url, &client.Options{Transports: transports, DisableReconnection: true, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	g := &goClient{c: c, s: c.Socket("/", nil), news: make(chan *client.Event, 4), silent: make(chan *client.Event, 4)}
	g.s.On("news", func(e *client.Event) { g.news <- e })
	g.s.On("silent", func(e *client.Event) { g.silent <- e }) // never acks
	require.NoError(t, g.s.Connect(ctx))
	g.server = recv(t, b.sockets)
	require.Equal(t, g.s.ID(), g.server.ID())
	return g
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("timed out waiting for a %T", *new(T))
		panic("unreachable")
	}
}

// frameSizes returns the size that ferry_bytes_total counts for packet p,
// encoded with the default parser (msgpack: binary frames), on long-polling
// ("b" and base64) and on WebSocket (the raw bytes).
func frameSizes(t *testing.T, p *parser.Packet) (polling, websocket float64) {
	t.Helper()
	frames, err := parser.Msgpack().Encode(p)
	require.NoError(t, err)
	require.Len(t, frames, 1)
	require.True(t, frames[0].Binary)
	n := len(frames[0].Data)
	return float64(1 + base64.StdEncoding.EncodedLen(n)), float64(n)
}

// only returns the series of d whose names start with one of prefixes.
func only(d map[string]float64, prefixes ...string) map[string]float64 {
	out := make(map[string]float64)
	for k, v := range d {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// without returns the series of d whose names start with none of prefixes.
func without(d map[string]float64, prefixes ...string) map[string]float64 {
	out := make(map[string]float64)
	for k, v := range d {
		if len(only(map[string]float64{k: v}, prefixes...)) == 0 {
			out[k] = v
		}
	}
	return out
}

// TestScrape runs clients against a Ferry server with a Collector and
// scrapes its /metrics over HTTP after each step, while they are
// connected: each step moves exactly the series it should, by the amount it
// should.
func TestScrape(t *testing.T) {
	t.Parallel()
	b := newBench(t, 64)
	prev := b.scrape(t)
	// step returns what moved since the previous step.
	step := func() map[string]float64 {
		now := b.scrape(t)
		d := delta(prev, now)
		prev = now
		return d
	}
	traffic := []string{"ferry_packets_total", "ferry_bytes_total"}

	// Three Go clients: long-polling only, WebSocket only, and long-polling
	// then WebSocket, each joined to "/".
	pollClient := b.connect(t, "polling")
	wsClient := b.connect(t, "websocket")
	upClient := b.connect(t, "polling", "websocket")
	require.Eventually(t, func() bool { return upClient.server.Transport() == "websocket" }, within, time.Millisecond)
	d := step()
	assert.Equal(t, map[string]float64{
		`ferry_connections{transport="polling"}`:                1,
		`ferry_connections{transport="websocket"}`:              2,
		`ferry_connections_opened_total{transport="polling"}`:   2,
		`ferry_connections_opened_total{transport="websocket"}`: 1,
		`ferry_upgrades_total{cause="",result="succeeded"}`:     1,
		`ferry_sockets`: 3,
	}, without(d, traffic...))
	for _, k := range []string{
		`ferry_packets_total{direction="in",transport="polling"}`,
		`ferry_packets_total{direction="out",transport="polling"}`,
		`ferry_packets_total{direction="in",transport="websocket"}`,
		`ferry_packets_total{direction="out",transport="websocket"}`,
	} {
		assert.Positive(t, d[k], k)
	}

	// Refused requests, by cause.
	for _, r := range []struct{ query, origin string }{
		{"EIO=4&transport=polling", "https://evil.example"},
		{"EIO=4&transport=polling", "https://evil.example"},
		{"EIO=4&transport=carrier-pigeon", ""},
		{"EIO=3&transport=polling", ""},
		{"EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", ""},
	} {
		req, err := http.NewRequest(http.MethodGet, b.url+"/socket.io/?"+r.query, nil)
		require.NoError(t, err)
		if r.origin != "" {
			req.Header.Set("Origin", r.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.GreaterOrEqual(t, resp.StatusCode, 400)
	}
	assert.Equal(t, map[string]float64{
		`ferry_requests_refused_total{cause="origin not allowed"}`:           2,
		`ferry_requests_refused_total{cause="unknown transport"}`:            1,
		`ferry_requests_refused_total{cause="unsupported protocol version"}`: 1,
		`ferry_requests_refused_total{cause="unknown sid"}`:                  1,
	}, step())

	// An echo from each client: one packet in and its ack out, each.
	for _, g := range []*goClient{pollClient, wsClient, upClient} {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		reply, err := g.s.EmitWithAck(ctx, "echo", "hello")
		cancel()
		require.NoError(t, err)
		require.Len(t, reply, 1)
	}
	evP, evW := frameSizes(t, &parser.Packet{Type: parser.Event, Namespace: "/", HasID: true, Args: []any{"echo", "hello"}})
	ackP, ackW := frameSizes(t, &parser.Packet{Type: parser.Ack, Namespace: "/", HasID: true, Args: []any{"back"}})
	assert.Equal(t, map[string]float64{
		`ferry_packets_total{direction="in",transport="polling"}`:    1,
		`ferry_packets_total{direction="in",transport="websocket"}`:  2,
		`ferry_packets_total{direction="out",transport="polling"}`:   1,
		`ferry_packets_total{direction="out",transport="websocket"}`: 2,
		`ferry_bytes_total{direction="in",transport="polling"}`:      evP,
		`ferry_bytes_total{direction="in",transport="websocket"}`:    2 * evW,
		`ferry_bytes_total{direction="out",transport="polling"}`:     ackP,
		`ferry_bytes_total{direction="out",transport="websocket"}`:   2 * ackW,
	}, step())

	// A broadcast reaches all three.
	require.NoError(t, b.srv.Emit("news", "x"))
	for _, g := range []*goClient{pollClient, wsClient, upClient} {
		recv(t, g.news)
	}
	newsP, newsW := frameSizes(t, &parser.Packet{Type: parser.Event, Namespace: "/", Args: []any{"news", "x"}})
	assert.Equal(t, map[string]float64{
		`ferry_broadcasts_total`:                                     1,
		`ferry_packets_total{direction="out",transport="polling"}`:   1,
		`ferry_packets_total{direction="out",transport="websocket"}`: 2,
		`ferry_bytes_total{direction="out",transport="polling"}`:     newsP,
		`ferry_bytes_total{direction="out",transport="websocket"}`:   2 * newsW,
	}, step())

	// An ack that does not come in time.
	_, err := wsClient.server.Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "silent")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	recv(t, wsClient.silent)
	_, silentW := frameSizes(t, &parser.Packet{Type: parser.Event, Namespace: "/", HasID: true, Args: []any{"silent"}})
	assert.Equal(t, map[string]float64{
		`ferry_ack_timeouts_total`:                                   1,
		`ferry_packets_total{direction="out",transport="websocket"}`: 1,
		`ferry_bytes_total{direction="out",transport="websocket"}`:   silentW,
	}, step())

	// A client that stops polling: events queue up for it until the
	// queue overflows, which closes its connection.
	stalled := b.stalledClient(t)
	var err2 error
	for range 100 {
		if err2 = stalled.Emit("flood", "x"); err2 != nil {
			break
		}
	}
	require.ErrorIs(t, err2, ferry.ErrDisconnected)
	recv(t, stalled.Conn().Done())
	assert.Equal(t, map[string]float64{
		`ferry_connections_opened_total{transport="polling"}`: 1,
		`ferry_connections_closed_total{reason="queue full"}`: 1,
		`ferry_queue_overflows_total`:                         1,
		`ferry_disconnects_total{reason="transport error"}`:   1,
	}, without(step(), traffic...))

	// The WebSocket-only client leaves.
	require.NoError(t, wsClient.c.Close())
	recv(t, wsClient.server.Conn().Done())
	d = step()
	assert.Equal(t, map[string]float64{
		`ferry_connections{transport="websocket"}`:                      -1,
		`ferry_disconnects_total{reason="client namespace disconnect"}`: 1,
		`ferry_sockets`: -1,
	}, without(d, append(traffic, "ferry_connections_closed_total")...))
	assert.Equal(t, 1.0, sum(only(d, "ferry_connections_closed_total")), "connections closed: %v", d)

	// The official socket.io-client: the default path (long-polling, then
	// the upgrade) and WebSocket only, each with an echo, then gone; and a
	// handshake refused for its origin. pollClient and upClient are still
	// connected.
	out := nodetest.Run(t, 30*time.Second, "metrics-clients.mjs", []string{b.url})
	require.Equal(t, 4, strings.Count(out, "ok - "), out)
	require.Eventually(t, func() bool {
		now := b.scrape(t)
		return now[`ferry_sockets`] == 2 && now[`ferry_connections{transport="websocket"}`] == 1 &&
			now[`ferry_connections{transport="polling"}`] == 1
	}, within, 5*time.Millisecond)
	d = step()
	assert.Equal(t, map[string]float64{
		`ferry_connections_opened_total{transport="polling"}`:           1,
		`ferry_connections_opened_total{transport="websocket"}`:         1,
		`ferry_upgrades_total{cause="",result="succeeded"}`:             1,
		`ferry_requests_refused_total{cause="origin not allowed"}`:      1,
		`ferry_disconnects_total{reason="client namespace disconnect"}`: 2,
	}, without(d, append(traffic, "ferry_connections_closed_total")...))
	assert.Equal(t, 2.0, sum(only(d, "ferry_connections_closed_total")), "connections closed: %v", d)
	assert.GreaterOrEqual(t, d[`ferry_packets_total{direction="in",transport="websocket"}`], 2.0, "the echoes")
	assert.Greater(t, d[`ferry_bytes_total{direction="out",transport="polling"}`], 0.0, "handshake")
}

// stalledClient opens a long-polling connection by hand, joins "/" with a
// POST, and then never polls: it returns the server's socket.
func (b *bench) stalledClient(t *testing.T) *ferry.Socket {
	t.Helper()
	resp, err := http.Get(b.url + "/socket.io/?EIO=4&transport=polling")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(body), "0"), "%s", body)
	var open struct{ SID string }
	require.NoError(t, json.Unmarshal(body[1:], &open))
	frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Connect, Namespace: "/"})
	require.NoError(t, err)
	resp, err = http.Post(b.url+"/socket.io/?EIO=4&transport=polling&sid="+open.SID, "text/plain;charset=UTF-8",
		strings.NewReader("b"+base64.StdEncoding.EncodeToString(frames[0].Data)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return recv(t, b.sockets)
}

func sum(d map[string]float64) float64 {
	var s float64
	for _, v := range d {
		s += v
	}
	return s
}
