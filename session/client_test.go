package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// This file is a minimal Engine.IO client for the tests: raw net/http
// requests for long-polling and a gorilla/websocket dialer, plus an Engine
// behind an httptest server that records what its sessions receive.

// waitFor bounds every blocking step of a test: a request, a frame read, a
// session event. Nothing in these tests should come near it.
const waitFor = 5 * time.Second

// Modes of run: the three ways a session can carry its packets.
const (
	modePolling   = "polling"   // long-polling only
	modeWebSocket = "websocket" // WebSocket-only handshake (no sid, "upgrades":[])
	modeUpgrade   = "upgrade"   // long-polling handshake, then probe and upgrade
)

// run runs f as five parallel subtests, one per mode and two more for the
// modes that send requests with a sid, each with its own engine configured
// by opts and a client connected in that mode. In the last two, "polling
// relayed" and "upgrade relayed", the engine is one of a cluster of two,
// and every request of the client after the handshake (its GETs, POSTs and
// WebSocket) reaches the other engine, which relays it (see newCluster).
func run(t *testing.T, opts *Options, f func(t *testing.T, c *testClient)) {
	t.Helper()
	for _, mode := range []string{modePolling, modeWebSocket, modeUpgrade} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, opts)
			f(t, ts.connect(t, mode))
		})
	}
	for _, mode := range []string{modePolling, modeUpgrade} {
		t.Run(mode+" relayed", func(t *testing.T) {
			t.Parallel()
			ts := newRelayedTestServer(t, opts)
			f(t, ts.connect(t, mode))
		})
	}
}

// testServer is an Engine served on 127.0.0.1 that records, for all its
// sessions, the messages they receive and their upgrade events.
type testServer struct {
	engine *Engine
	srv    *httptest.Server
	base   string // http://127.0.0.1:port/socket.io/

	// via, if set, is the engine that the requests carrying a sid are
	// sent to, which relays them to this one.
	via *testServer

	msgs      chan transport.Packet // messages received by any session, in order
	upgrades  chan UpgradeEvent     // upgrade events of any session
	idlePolls chan string           // sid of each long-poll that found nothing to send and parks
}

// newTestServer starts an engine configured by opts (nil for defaults). A
// session's OnMessage and OnUpgrade are set to record into the server's
// channels before opts.OnConnection runs, which may replace them.
func newTestServer(t testing.TB, opts *Options) *testServer {
	t.Helper()
	ts := &testServer{
		msgs:      make(chan transport.Packet, 4096),
		upgrades:  make(chan UpgradeEvent, 64),
		idlePolls: make(chan string, 64),
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	user := o.OnConnection
	o.OnConnection = func(s *Session) {
		s.OnMessage(func(p transport.Packet) {
			p.Data = bytes.Clone(p.Data)
			ts.msgs <- p
		})
		s.OnUpgrade(func(e UpgradeEvent) { ts.upgrades <- e })
		if user != nil {
			user(s)
		}
	}
	ts.engine = NewEngine(&o)
	ts.engine.testHookIdlePoll = func(s *Session) {
		select {
		case ts.idlePolls <- s.ID():
		default:
		}
	}
	ts.srv = httptest.NewServer(ts.engine)
	// Cleanups run last-in first-out: close the sessions (releasing parked
	// long-polls) before the HTTP server waits for its requests.
	t.Cleanup(ts.srv.Close)
	t.Cleanup(func() { ts.engine.Close() })
	ts.base = ts.srv.URL + ts.engine.Path()
	return ts
}

// url returns the engine's URL with the given query, or, for a query with
// a sid when ts.via is set, that engine's.
func (ts *testServer) url(query string) string { return ts.target(query).base + "?" + query }

// wsURL returns the ws:// URL of url.
func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.target(query).base, "http") + "?" + query
}

// target returns the engine that a request with query is sent to.
func (ts *testServer) target(query string) *testServer {
	if ts.via != nil && strings.Contains(query, "sid=") {
		return ts.via
	}
	return ts
}

// response is a completed HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

// request sends one HTTP request; header is a list of name, value pairs.
func (ts *testServer) request(t testing.TB, method, query, body string, header ...string) response {
	t.Helper()
	r, err := ts.tryRequest(method, query, body, header...)
	require.NoError(t, err)
	return r
}

// tryRequest is request for use off the test goroutine.
func (ts *testServer) tryRequest(method, query, body string, header ...string) (response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ts.url(query), rd)
	if err != nil {
		return response{}, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

// dial opens a WebSocket with the given query. On a refused handshake it
// returns the error and the response.
func (ts *testServer) dial(t testing.TB, query string, header http.Header) (*gorilla.Conn, *http.Response, error) {
	t.Helper()
	// The client offers permessage-deflate, as browsers do.
	d := gorilla.Dialer{HandshakeTimeout: waitFor, EnableCompression: true}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, ts.wsURL(query), header)
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// testClient is one Engine.IO client of a testServer, with the server-side
// Session it is talking to.
type testClient struct {
	ts   *testServer
	mode string
	sid  string
	open map[string]any // the handshake JSON
	sess *Session
	ws   *gorilla.Conn      // set once the client talks WebSocket
	buf  []transport.Packet // packets received but not yet returned by recv
}

// connect opens a session in the given mode.
func (ts *testServer) connect(t testing.TB, mode string) *testClient {
	t.Helper()
	switch mode {
	case modePolling:
		return ts.handshakePolling(t, "EIO=4&transport=polling")
	case modeWebSocket:
		return ts.handshakeWebSocket(t, "EIO=4&transport=websocket")
	case modeUpgrade:
		c := ts.handshakePolling(t, "EIO=4&transport=polling")
		c.upgrade(t)
		c.mode = modeUpgrade
		return c
	}
	t.Fatalf("unknown mode %q", mode)
	return nil
}

// handshakePolling opens a session with a long-polling handshake.
func (ts *testServer) handshakePolling(t testing.TB, query string) *testClient {
	t.Helper()
	r := ts.request(t, http.MethodGet, query, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	c := &testClient{ts: ts, mode: modePolling}
	c.setOpen(t, r.body)
	return c
}

// handshakeWebSocket opens a session with a WebSocket-only handshake.
func (ts *testServer) handshakeWebSocket(t testing.TB, query string) *testClient {
	t.Helper()
	conn, _, err := ts.dial(t, query, nil)
	require.NoError(t, err)
	mt, data := readFrame(t, conn)
	require.Equal(t, gorilla.TextMessage, mt)
	c := &testClient{ts: ts, mode: modeWebSocket, ws: conn}
	c.setOpen(t, string(data))
	return c
}

// setOpen parses an open packet and finds the session it names.
func (c *testClient) setOpen(t testing.TB, body string) {
	t.Helper()
	data, ok := strings.CutPrefix(body, "0")
	require.True(t, ok, "not an open packet: %q", body)
	require.NoError(t, json.Unmarshal([]byte(data), &c.open))
	sid, ok := c.open["sid"].(string)
	require.True(t, ok, "no sid in %s", data)
	c.sid = sid
	c.sess = c.ts.engine.Session(sid)
	require.NotNil(t, c.sess, "session %s is not registered", sid)
}

// upgrade moves a long-polling client to a WebSocket as the official client
// does: probe, drain the long-poll until it is released with a noop, then
// commit with "5". Packets the long-poll returned on the way are kept for recv.
func (c *testClient) upgrade(t testing.TB) {
	t.Helper()
	conn, resp, err := c.ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	writeText(t, conn, "2probe")
	mt, data := readFrame(t, conn)
	require.Equal(t, gorilla.TextMessage, mt)
	require.Equal(t, "3probe", string(data))
	for {
		pkts := c.poll(t)
		n := len(pkts) - 1
		c.buf = append(c.buf, pkts[:n]...)
		if pkts[n].Type == transport.Noop {
			break
		}
		c.buf = append(c.buf, pkts[n])
	}
	writeText(t, conn, "5")
	require.Eventually(t, func() bool { return c.sess.Transport() == transport.NameWebSocket },
		waitFor, time.Millisecond, "the session did not switch to WebSocket")
	c.ws = conn
}

// get sends a long-polling GET for the session.
func (c *testClient) get(t testing.TB) response {
	t.Helper()
	return c.ts.request(t, http.MethodGet, "EIO=4&transport=polling&sid="+c.sid, "")
}

// post sends a long-polling POST for the session; header is a list of
// name, value pairs.
func (c *testClient) post(t testing.TB, body string, header ...string) response {
	t.Helper()
	return c.ts.request(t, http.MethodPost, "EIO=4&transport=polling&sid="+c.sid, body, header...)
}

// poll sends a GET that must succeed and returns the packets of its payload.
func (c *testClient) poll(t testing.TB) []transport.Packet {
	t.Helper()
	r := c.get(t)
	require.Equal(t, http.StatusOK, r.status, r.body)
	pkts, err := transport.DecodePayload([]byte(r.body))
	require.NoError(t, err, "payload %q", r.body)
	return pkts
}

// parkGET starts a long-poll and returns once the server has found nothing
// to send and parked it. The channel yields its response.
func (c *testClient) parkGET(t testing.TB) <-chan response {
	t.Helper()
	// Forget parks signalled earlier.
	for len(c.ts.idlePolls) > 0 {
		<-c.ts.idlePolls
	}
	ch := make(chan response, 1)
	go func() {
		r, err := c.ts.tryRequest(http.MethodGet, "EIO=4&transport=polling&sid="+c.sid, "")
		if err != nil {
			r = response{body: "request failed: " + err.Error()}
		}
		ch <- r
	}()
	timeout := time.After(waitFor)
	for {
		select {
		case sid := <-c.ts.idlePolls:
			if sid == c.sid {
				return ch
			}
		case r := <-ch:
			t.Fatalf("GET returned before parking: %d %q", r.status, r.body)
		case <-timeout:
			t.Fatal("GET did not park")
		}
	}
}

// send sends packets to the server: one POST, or one frame per packet.
func (c *testClient) send(t testing.TB, pkts ...transport.Packet) {
	t.Helper()
	if c.ws == nil {
		r := c.post(t, string(transport.EncodePayload(pkts)))
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.Equal(t, "ok", r.body)
		return
	}
	for _, p := range pkts {
		var err error
		if p.Binary {
			err = c.ws.WriteMessage(gorilla.BinaryMessage, p.Data)
		} else {
			err = c.ws.WriteMessage(gorilla.TextMessage, transport.EncodePacket(p))
		}
		require.NoError(t, err)
	}
}

// recv returns the next packet from the server.
func (c *testClient) recv(t testing.TB) transport.Packet {
	t.Helper()
	for len(c.buf) == 0 {
		if c.ws == nil {
			c.buf = c.poll(t)
			continue
		}
		mt, data := readFrame(t, c.ws)
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		require.NoError(t, err)
		c.buf = append(c.buf, p)
	}
	p := c.buf[0]
	c.buf = c.buf[1:]
	return p
}

// recvUntilClosed returns the packets the server sends until it ends the
// connection: over long-polling, up to and including a close packet, after
// which the sid must be unknown; over WebSocket, until a close frame without
// status, as the reference server sends.
func (c *testClient) recvUntilClosed(t testing.TB) []transport.Packet {
	t.Helper()
	pkts := c.buf
	c.buf = nil
	if c.ws == nil {
		for len(pkts) == 0 || pkts[len(pkts)-1].Type != transport.Close {
			pkts = append(pkts, c.poll(t)...)
		}
		requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
		return pkts
	}
	for {
		require.NoError(t, c.ws.SetReadDeadline(time.Now().Add(waitFor)))
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			require.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "read: %v", err)
			return pkts
		}
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		require.NoError(t, err)
		pkts = append(pkts, p)
	}
}

// wire returns the text forms of pkts, for comparing packet sequences.
func wire(pkts ...transport.Packet) []string {
	out := make([]string, len(pkts))
	for i, p := range pkts {
		out[i] = string(transport.EncodePacket(p))
	}
	return out
}

// requireClosedConn asserts that the server ended the client's WebSocket.
func requireClosedConn(t testing.TB, conn *gorilla.Conn) error {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitFor)))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server did not close the WebSocket: %v", err)
			}
			return err
		}
		t.Logf("frame before close: %q", data)
	}
}

// nextMessage returns the next message any session of ts received.
func (ts *testServer) nextMessage(t testing.TB) transport.Packet {
	t.Helper()
	select {
	case p := <-ts.msgs:
		return p
	case <-time.After(waitFor):
		t.Fatal("no message reached the server")
		return transport.Packet{}
	}
}

// nextUpgrade returns the next upgrade event of any session of ts.
func (ts *testServer) nextUpgrade(t testing.TB) UpgradeEvent {
	t.Helper()
	select {
	case e := <-ts.upgrades:
		return e
	case <-time.After(waitFor):
		t.Fatal("no upgrade event")
		return UpgradeEvent{}
	}
}

// waitClosed waits until s has closed and returns its *CloseError.
func waitClosed(t testing.TB, s *Session) *CloseError {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(waitFor):
		t.Fatalf("session %s did not close", s.ID())
	}
	var ce *CloseError
	require.ErrorAs(t, s.Err(), &ce)
	return ce
}

// requireError asserts an Engine.IO error response.
func requireError(t testing.TB, r response, status int, body string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.Equal(t, body, r.body)
}

// readFrame reads one WebSocket message.
func readFrame(t testing.TB, conn *gorilla.Conn) (int, []byte) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitFor)))
	mt, data, err := conn.ReadMessage()
	require.NoError(t, err)
	return mt, data
}

// writeText writes one text frame.
func writeText(t testing.TB, conn *gorilla.Conn, s string) {
	t.Helper()
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte(s)))
}
