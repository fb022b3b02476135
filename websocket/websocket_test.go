package websocket

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		tr, conn := serve(t, nil, s, "")
		return tr, &transporttest.WebSocketPeer{Conn: conn}
	})
}

func TestConformanceBase64(t *testing.T) {
	// With b64=1 binary messages travel as "b" text frames; the peer turns
	// them back into binary packets, so the suite sees the same stream.
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		tr, conn := serve(t, nil, s, "b64=1")
		return tr, &transporttest.WebSocketPeer{Conn: conn, Base64: true}
	})
}

// serve upgrades one connection on an httptest server, binds it to s and
// starts it; it returns the transport and the client's end.
func serve(t *testing.T, opts *Options, s transport.Session, query string) (*Transport, *gorilla.Conn) {
	t.Helper()
	return serveOn(t, opts, s, query, false)
}

// serveOn is serve, over TLS when secure: a connection with no raw socket
// under it, which batchConn then reads and writes through. The client
// offers permessage-deflate, as browsers do; the server accepts it when
// opts.Deflate is set.
func serveOn(t *testing.T, opts *Options, s transport.Session, query string, secure bool) (*Transport, *gorilla.Conn) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.DiscardHandler)
	cfg := NewConfig(&o)
	ready := make(chan *Transport, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cfg.Upgrade(w, r)
		if err != nil {
			return
		}
		ready <- New(cfg, conn, s)
	}))
	d := gorilla.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	if secure {
		srv.StartTLS()
		d.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	// "http://" becomes "ws://", "https://" "wss://".
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/?"+query, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// No test waits this long; Receive replaces it with its context's.
	conn.SetReadDeadline(time.Now().Add(transporttest.Timeout))
	tr := <-ready
	tr.Start()
	return tr, conn
}

// recorder is a transport.Session that serves a queue and records what it
// is told.
type recorder struct {
	mu        sync.Mutex
	queue     []transport.Packet
	last      bool
	delivered chan transport.Packet
	closed    chan error
	// refuse, if set, answers Deliver instead of recording the packet.
	refuse func(transport.Transport, transport.Packet) error
}

func newRecorder() *recorder {
	return &recorder{delivered: make(chan transport.Packet, 16), closed: make(chan error, 1)}
}

func (r *recorder) push(last bool, pkts ...transport.Packet) {
	r.mu.Lock()
	r.queue = append(r.queue, pkts...)
	r.last = last
	r.mu.Unlock()
}

func (r *recorder) Take(transport.Transport) ([]transport.Packet, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pkts := r.queue
	r.queue = nil
	return pkts, r.last && len(pkts) > 0
}

func (r *recorder) Deliver(t transport.Transport, p transport.Packet) error {
	if r.refuse != nil {
		return r.refuse(t, p)
	}
	r.delivered <- p
	return nil
}

func (r *recorder) TransportClosed(_ transport.Transport, err error) { r.closed <- err }

func (r *recorder) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("TransportClosed was not called")
		return nil
	}
}

func TestFrames(t *testing.T) {
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	s.push(false, transport.TextPacket("hello"), transport.BinaryPacket([]byte{1, 2}), transport.Packet{Type: transport.Ping})
	tr.Wake()
	for _, want := range []struct {
		mt   int
		data string
	}{{gorilla.TextMessage, "4hello"}, {gorilla.BinaryMessage, "\x01\x02"}, {gorilla.TextMessage, "2"}} {
		mt, data, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, want.mt, mt)
		assert.Equal(t, want.data, string(data))
	}

	require.NoError(t, conn.WriteMessage(gorilla.BinaryMessage, []byte{9}))
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("3")))
	assert.Equal(t, transport.BinaryPacket([]byte{9}), <-s.delivered)
	assert.Equal(t, transport.Packet{Type: transport.Pong, Data: []byte{}}, <-s.delivered)
}

func TestBase64Frames(t *testing.T) {
	s := newRecorder()
	tr, conn := serve(t, nil, s, "b64=1")
	bin := transport.BinaryPacket([]byte{1, 2, 3, 4})
	bin.Shared = new(transport.FrameCache)
	s.push(false, transport.BinaryPacket([]byte{1, 2, 3, 4}), bin)
	tr.Wake()
	for range 2 {
		mt, data, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, gorilla.TextMessage, mt)
		assert.Equal(t, "bAQIDBA==", string(data))
	}
}

func TestLastBatchEndsWithCloseFrame(t *testing.T) {
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	s.push(true, transport.TextPacket("bye"))
	tr.Wake()
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4bye", string(data))
	_, _, err = conn.ReadMessage()
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "got %v", err)
	require.NoError(t, s.waitClosed(t))
	<-tr.Done()
}

func TestMessageTooLarge(t *testing.T) {
	s := newRecorder()
	_, conn := serve(t, &Options{MaxHTTPBufferSize: 8}, s, "")
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4seven!")))
	assert.Equal(t, transport.TextPacket("seven!"), <-s.delivered)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4nine!!!!")))
	_, _, err := conn.ReadMessage()
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseMessageTooBig), "got %v", err)
	require.ErrorIs(t, s.waitClosed(t), ErrMessageTooLarge)
}

func TestPeerCloseFrame(t *testing.T) {
	s := newRecorder()
	_, conn := serve(t, nil, s, "")
	require.NoError(t, conn.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseGoingAway, "")))
	require.ErrorIs(t, s.waitClosed(t), transport.ErrPeerClosed)
}

func TestMalformedFrame(t *testing.T) {
	s := newRecorder()
	_, conn := serve(t, nil, s, "")
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4ok")))
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("x")))
	assert.Equal(t, transport.TextPacket("ok"), <-s.delivered)
	require.ErrorIs(t, s.waitClosed(t), transport.ErrInvalidPacket)
}

func TestUpgradeRefused(t *testing.T) {
	cfg := NewConfig(&Options{Logger: slog.New(slog.DiscardHandler), CheckOrigin: func(*http.Request) bool { return false }})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "kept")
		conn, err := cfg.Upgrade(w, r)
		assert.Nil(t, conn)
		assert.Error(t, err)
	}))
	defer srv.Close()
	_, resp, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), http.Header{"Origin": {"https://elsewhere.example"}})
	require.ErrorIs(t, err, gorilla.ErrBadHandshake)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// A plain GET is not a WebSocket handshake.
	resp2, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp2.StatusCode)
}

func TestUpgradeSendsHeaders(t *testing.T) {
	cfg := NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.SetCookie(w, &http.Cookie{Name: "io", Value: "abc"})
		if conn, err := cfg.Upgrade(w, r); err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	// The client offers permessage-deflate, which is declined by default.
	d := gorilla.Dialer{EnableCompression: true}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "io=abc", resp.Header.Get("Set-Cookie"))
	assert.Empty(t, resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate was accepted")
}

func TestCloseBeforeStart(t *testing.T) {
	s := newRecorder()
	cfg := NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)})
	ready := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, err := cfg.Upgrade(w, r); err == nil {
			ready <- conn
		}
	}))
	defer srv.Close()
	client, _, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	defer client.Close()
	tr := New(cfg, <-ready, s)
	require.NoError(t, tr.Close())
	// With no goroutine running, Close reports at once.
	require.NoError(t, s.waitClosed(t))
	<-tr.Done()
	tr.Start()
	tr.Wake()
	_, _, err = client.ReadMessage()
	assert.Error(t, err)
}
