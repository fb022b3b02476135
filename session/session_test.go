package session

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

func TestEcho(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		c.send(t, transport.TextPacket("hello"), transport.TextPacket("€ and \x1f"), transport.TextPacket(""))
		assert.Equal(t, transport.TextPacket("hello"), c.ts.nextMessage(t))
		assert.Equal(t, transport.TextPacket("€ and \x1f"), c.ts.nextMessage(t))
		assert.Equal(t, transport.TextPacket(""), c.ts.nextMessage(t))

		require.NoError(t, c.sess.Send(transport.TextPacket("world")))
		assert.Equal(t, transport.TextPacket("world"), c.recv(t))
		want := transport.NameWebSocket
		if c.mode == modePolling {
			want = transport.NamePolling
		}
		assert.Equal(t, want, c.sess.Transport())
	})
}

func TestBatching(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	// Sends made while no GET is parked arrive in one payload.
	require.NoError(t, c.sess.Send(transport.TextPacket("a")))
	require.NoError(t, c.sess.Send(transport.TextPacket("b"), transport.BinaryPacket([]byte{1, 2, 3, 4})))
	require.NoError(t, c.sess.Send(transport.TextPacket("€")))
	r := c.get(t)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "4a\x1e4b\x1ebAQIDBA==\x1e4€", r.body)
	assert.Equal(t, "20", r.header.Get("Content-Length")) // 2+1+2+1+9+1+4 bytes
	assert.Equal(t, "text/plain; charset=UTF-8", r.header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))

	// And a client's batch is delivered packet by packet, in order.
	r = c.post(t, "4hello\x1ebAQIDBA==\x1e4€")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ok", r.body)
	assert.Equal(t, "text/html", r.header.Get("Content-Type"))
	assert.Equal(t, transport.TextPacket("hello"), ts.nextMessage(t))
	assert.Equal(t, transport.BinaryPacket([]byte{1, 2, 3, 4}), ts.nextMessage(t))
	assert.Equal(t, transport.TextPacket("€"), ts.nextMessage(t))
}

func TestBatchingWakesParkedGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	got := c.parkGET(t)
	require.NoError(t, c.sess.Send(transport.TextPacket("late")))
	r := <-got
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "4late", r.body)
}

func TestBinary(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		data := []byte{0, 1, 2, 0xfe, 0xff}
		c.send(t, transport.BinaryPacket(data), transport.BinaryPacket([]byte{}))
		assert.Equal(t, transport.BinaryPacket(data), c.ts.nextMessage(t))
		got := c.ts.nextMessage(t)
		assert.True(t, got.Binary)
		assert.Empty(t, got.Data)

		require.NoError(t, c.sess.Send(transport.BinaryPacket(data), transport.TextPacket("text stays text")))
		assert.Equal(t, transport.BinaryPacket(data), c.recv(t))
		assert.Equal(t, transport.TextPacket("text stays text"), c.recv(t))
	})
}

func TestBinaryWireForms(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	bin := transport.BinaryPacket([]byte{1, 2, 3, 4})

	// Long-polling: base64 records, both ways.
	pc := ts.connect(t, modePolling)
	require.NoError(t, pc.sess.Send(bin))
	r := pc.get(t)
	assert.Equal(t, "bAQIDBA==", r.body)

	// WebSocket: a binary frame holding the raw bytes, both ways.
	wc := ts.connect(t, modeWebSocket)
	require.NoError(t, wc.ws.WriteMessage(gorilla.BinaryMessage, []byte{1, 2, 3, 4}))
	assert.Equal(t, bin, ts.nextMessage(t))
	require.NoError(t, wc.sess.Send(bin))
	mt, data := readFrame(t, wc.ws)
	assert.Equal(t, gorilla.BinaryMessage, mt)
	assert.Equal(t, []byte{1, 2, 3, 4}, data)

	// WebSocket with b64=1: a "b" text frame; the client may send either form.
	bc := ts.handshakeWebSocket(t, "EIO=4&transport=websocket&b64=1")
	require.NoError(t, bc.sess.Send(bin))
	mt, data = readFrame(t, bc.ws)
	assert.Equal(t, gorilla.TextMessage, mt)
	assert.Equal(t, "bAQIDBA==", string(data))
	writeText(t, bc.ws, "bAQIDBA==")
	assert.Equal(t, bin, ts.nextMessage(t))

	// An upgraded session keeps the base64 choice of its WebSocket request.
	uc := ts.handshakePolling(t, "EIO=4&transport=polling")
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&b64=1&sid="+uc.sid, nil)
	require.NoError(t, err)
	writeText(t, conn, "2probe")
	_, data = readFrame(t, conn)
	require.Equal(t, "3probe", string(data))
	writeText(t, conn, "5")
	require.NoError(t, uc.sess.Send(bin))
	mt, data = readFrame(t, conn)
	assert.Equal(t, gorilla.TextMessage, mt)
	assert.Equal(t, "bAQIDBA==", string(data))
}

func TestOrdering(t *testing.T) {
	t.Parallel()
	const n = 300
	run(t, nil, func(t *testing.T, c *testClient) {
		// Client to server, in batches of ten.
		for i := 0; i < n; i += 10 {
			var pkts []transport.Packet
			for j := i; j < i+10; j++ {
				if j%7 == 0 {
					pkts = append(pkts, transport.BinaryPacket([]byte(fmt.Sprint(j))))
				} else {
					pkts = append(pkts, transport.TextPacket(fmt.Sprint(j)))
				}
			}
			c.send(t, pkts...)
		}
		for i := range n {
			p := c.ts.nextMessage(t)
			require.Equal(t, fmt.Sprint(i), string(p.Data))
			require.Equal(t, i%7 == 0, p.Binary)
		}

		// Server to client, one Send each, read while they are being sent.
		errs := make(chan error, 1)
		go func() {
			for i := range n {
				if err := c.sess.Send(transport.TextPacket(fmt.Sprint(i))); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		for i := range n {
			require.Equal(t, transport.TextPacket(fmt.Sprint(i)), c.recv(t))
		}
		require.NoError(t, <-errs)
	})
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		closed := make(chan *CloseError, 1)
		c.sess.OnClose(func(err *CloseError) { closed <- err })
		require.NoError(t, c.sess.Send(transport.TextPacket("a"), transport.TextPacket("b")))
		require.NoError(t, c.sess.Close())
		assert.Equal(t, ReasonForcedClose, (<-closed).Reason)

		// Queued messages first, then the close packet (a payload ending
		// in "\x1e1" over long-polling; frames and a close frame over
		// WebSocket).
		assert.Equal(t, []string{"4a", "4b", "1"}, wire(c.recvUntilClosed(t)...))
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonForcedClose, ce.Reason)
		assert.Equal(t, 0, c.ts.engine.Count())
		assert.Nil(t, c.ts.engine.Session(c.sid))

		err := c.sess.Send(transport.TextPacket("late"))
		require.ErrorIs(t, err, ErrSessionClosed)
		assert.Equal(t, ReasonForcedClose, Reason(err))
		assert.False(t, c.sess.SendVolatile(transport.TextPacket("late")))
		require.NoError(t, c.sess.Close(), "a second Close")
	})
}

func TestServerClosePollingPayload(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	require.NoError(t, c.sess.Send(transport.TextPacket("bye")))
	require.NoError(t, c.sess.Close())
	// Until the client collects it, the closing session still answers.
	assert.Equal(t, 1, ts.engine.Count())
	r := c.get(t)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "4bye\x1e1", r.body)
	waitClosed(t, c.sess)
	assert.Equal(t, 0, ts.engine.Count())
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	requireError(t, c.post(t, "4x"), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
}

func TestServerCloseReleasesParkedGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	got := c.parkGET(t)
	require.NoError(t, c.sess.Close())
	r := <-got
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "1", r.body)
	waitClosed(t, c.sess)
	assert.Equal(t, 0, ts.engine.Count())
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		c.send(t, transport.TextPacket("last words"), transport.Packet{Type: transport.Close})
		assert.Equal(t, transport.TextPacket("last words"), c.ts.nextMessage(t))
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportClose, ce.Reason)
		require.NoError(t, ce.Err)
		assert.Equal(t, 0, c.ts.engine.Count())
		if c.ws != nil {
			requireClosedConn(t, c.ws)
		}
		requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	})
}

func TestClientCloseWhileGETParked(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	got := c.parkGET(t)
	r := c.post(t, "1")
	require.Equal(t, http.StatusOK, r.status)
	// The registry forgets the session before the POST is answered.
	assert.Equal(t, 0, ts.engine.Count())
	r = <-got
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "6", r.body)
	assert.Equal(t, ReasonTransportClose, waitClosed(t, c.sess).Reason)
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	requireError(t, c.post(t, "4x"), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
}

func TestClientWebSocketCloseFrame(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modeWebSocket)
	require.NoError(t, c.ws.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "")))
	ce := waitClosed(t, c.sess)
	assert.Equal(t, ReasonTransportClose, ce.Reason)
	require.ErrorIs(t, ce, transport.ErrPeerClosed)
	require.Eventually(t, func() bool { return ts.engine.Count() == 0 }, waitFor, time.Millisecond)
}

func TestClientPing(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		if c.ws == nil {
			requireError(t, c.post(t, "2"), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
		} else {
			writeText(t, c.ws, "2")
		}
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportError, ce.Reason)
		require.ErrorIs(t, ce, ErrInvalidHeartbeat)
		require.ErrorIs(t, ce, ErrSessionClosed)
		if c.ws != nil {
			requireClosedConn(t, c.ws)
		}
	})
}

func TestMalformedInput(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		if c.ws == nil {
			// Packets ahead of the bad record are still delivered.
			r := c.post(t, "4first\x1e4second\x1e9bad\x1e4never")
			requireError(t, r, http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
		} else {
			writeText(t, c.ws, "4first")
			writeText(t, c.ws, "4second")
			writeText(t, c.ws, "9bad")
			writeText(t, c.ws, "4never")
		}
		assert.Equal(t, transport.TextPacket("first"), c.ts.nextMessage(t))
		assert.Equal(t, transport.TextPacket("second"), c.ts.nextMessage(t))
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonParseError, ce.Reason)
		require.ErrorIs(t, ce, transport.ErrInvalidPacket)
		var de *transport.DecodeError
		require.ErrorAs(t, ce, &de)
		select {
		case p := <-c.ts.msgs:
			t.Fatalf("a packet after the bad one was delivered: %v", p)
		default:
		}
		assert.Equal(t, 0, c.ts.engine.Count())
	})
}

func TestMalformedPayloads(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty body":         "",
		"trailing separator": "4a\x1e",
		"bad base64":         "b!!!",
		"invalid UTF-8":      "4\xff",
		"unknown type":       "x",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			c := ts.connect(t, modePolling)
			requireError(t, c.post(t, body), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
			assert.Equal(t, ReasonParseError, waitClosed(t, c.sess).Reason)
		})
	}
}

func TestSendQueueFull(t *testing.T) {
	t.Parallel()
	run(t, &Options{MaxQueuedPackets: 4}, func(t *testing.T, c *testClient) {
		closed := make(chan *CloseError, 1)
		c.sess.OnClose(func(err *CloseError) { closed <- err })
		pkts := make([]transport.Packet, 5)
		for i := range pkts {
			pkts[i] = transport.TextPacket(fmt.Sprint(i))
		}
		require.ErrorIs(t, c.sess.Send(pkts...), ErrQueueFull)
		ce := <-closed
		assert.Equal(t, ReasonQueueFull, ce.Reason)
		require.ErrorIs(t, ce, ErrQueueFull)
		assert.Equal(t, 0, c.ts.engine.Count())
		require.ErrorIs(t, c.sess.Send(transport.TextPacket("x")), ErrSessionClosed)
	})
}

func TestSendQueueFullPolling(t *testing.T) {
	t.Parallel()
	// With no GET to drain it, the queue fills one Send at a time.
	ts := newTestServer(t, &Options{MaxQueuedPackets: 3})
	c := ts.connect(t, modePolling)
	for i := range 3 {
		require.NoError(t, c.sess.Send(transport.TextPacket(fmt.Sprint(i))))
	}
	require.ErrorIs(t, c.sess.Send(transport.TextPacket("3")), ErrQueueFull)
	assert.Equal(t, ReasonQueueFull, waitClosed(t, c.sess).Reason)
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
}

func TestSendVolatile(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	// Nothing queued: queued.
	assert.True(t, c.sess.SendVolatile(transport.TextPacket("v1")))
	// Something queued (the client is behind): dropped.
	assert.False(t, c.sess.SendVolatile(transport.TextPacket("v2")))
	require.NoError(t, c.sess.Send(transport.TextPacket("normal")))
	assert.Equal(t, "4v1\x1e4normal", c.get(t).body)

	wc := ts.connect(t, modeWebSocket)
	assert.True(t, wc.sess.SendVolatile(transport.TextPacket("v")))
	assert.Equal(t, transport.TextPacket("v"), wc.recv(t))
}

func TestNeighboursUnharmed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxHTTPBufferSize: 1000})
	bystander := ts.connect(t, modePolling)
	wsBystander := ts.connect(t, modeWebSocket)
	check := func(t *testing.T) {
		t.Helper()
		for _, c := range []*testClient{bystander, wsBystander} {
			require.NoError(t, c.sess.Err())
			require.NoError(t, c.sess.Send(transport.TextPacket("ping-pong")))
			require.Equal(t, transport.TextPacket("ping-pong"), c.recv(t))
			c.send(t, transport.TextPacket("from "+c.sid))
			require.Equal(t, "from "+c.sid, string(ts.nextMessage(t).Data))
		}
	}
	for name, misbehave := range map[string]func(t *testing.T, c *testClient){
		"malformed POST": func(t *testing.T, c *testClient) { c.post(t, "zzz") },
		"oversize POST":  func(t *testing.T, c *testClient) { c.post(t, "4"+strings.Repeat("x", 2000)) },
		"binary POST":    func(t *testing.T, c *testClient) { c.post(t, "4x", "Content-Type", "application/octet-stream") },
		"client ping":    func(t *testing.T, c *testClient) { c.post(t, "2") },
		"bad upgrade": func(t *testing.T, c *testClient) {
			conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
			require.NoError(t, err)
			writeText(t, conn, "4not a probe")
			requireClosedConn(t, conn)
			c.sess.Close()
			assert.Equal(t, "1", c.get(t).body)
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := ts.connect(t, modePolling)
			misbehave(t, c)
			waitClosed(t, c.sess)
			check(t)
		})
	}
	assert.Equal(t, 2, ts.engine.Count())
}

func TestRegistryForgetsClosedSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	var clients []*testClient
	for range 3 {
		clients = append(clients, ts.connect(t, modePolling), ts.connect(t, modeWebSocket))
	}
	assert.Equal(t, 6, ts.engine.Count())
	for i, c := range clients {
		assert.Same(t, c.sess, ts.engine.Session(c.sid))
		// Closed without a flush: the registry forgets it before Close
		// returns.
		c.sess.closeWith(ReasonTransportError, nil, false)
		assert.Nil(t, ts.engine.Session(c.sid))
		assert.Equal(t, 5-i, ts.engine.Count())
	}
}
