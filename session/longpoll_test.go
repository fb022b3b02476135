package session

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// Transport rules a client can break, and what the session does about it.

func TestOverlappingGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	first := c.parkGET(t)
	// The second GET is refused and closes the session...
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	// ...and the first is completed with a close packet.
	r := <-first
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "1", r.body)
	ce := waitClosed(t, c.sess)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, polling.ErrOverlappingGet)
	assert.Equal(t, 0, ts.engine.Count())
}

func TestOverlappingPOST(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	ts := newTestServer(t, &Options{OnConnection: func(s *Session) {
		s.OnMessage(func(p transport.Packet) {
			if string(p.Data) == "hold" {
				close(entered)
				<-release
			}
		})
	}})
	c := ts.connect(t, modePolling)
	first := make(chan response, 1)
	go func() {
		r, err := ts.tryRequest(http.MethodPost, "EIO=4&transport=polling&sid="+c.sid, "4hold")
		if err != nil {
			r.body = err.Error()
		}
		first <- r
	}()
	<-entered
	requireError(t, c.post(t, "4second"), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	// The session hears of it once the first POST's delivery returns.
	once.Do(func() { close(release) })
	ce := waitClosed(t, c.sess)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, polling.ErrOverlappingPost)
	// The first POST's packet was delivered before the session closed.
	r := <-first
	assert.Equal(t, http.StatusOK, r.status, r.body)
}

func TestBinaryPOSTRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	r := c.post(t, "4hello", "Content-Type", "application/octet-stream")
	requireError(t, r, http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	ce := waitClosed(t, c.sess)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, polling.ErrBinaryBody)
	assert.Empty(t, ts.msgs, "the body was delivered")
}

func TestOversizeInput(t *testing.T) {
	t.Parallel()
	const limit = 100
	run(t, &Options{MaxHTTPBufferSize: limit}, func(t *testing.T, c *testClient) {
		atLimit := strings.Repeat("a", limit-1) // plus the type digit
		c.send(t, transport.TextPacket(atLimit))
		assert.Equal(t, atLimit, string(c.ts.nextMessage(t).Data))

		tooBig := strings.Repeat("b", limit)
		var ce *CloseError
		if c.ws == nil {
			r := c.post(t, "4"+tooBig)
			assert.Equal(t, http.StatusRequestEntityTooLarge, r.status)
			ce = waitClosed(t, c.sess)
			require.ErrorIs(t, ce, polling.ErrPayloadTooLarge)
		} else {
			writeText(t, c.ws, "4"+tooBig)
			err := requireClosedConn(t, c.ws)
			assert.True(t, gorilla.IsCloseError(err, gorilla.CloseMessageTooBig), "read: %v", err)
			ce = waitClosed(t, c.sess)
			require.ErrorIs(t, ce, websocket.ErrMessageTooLarge)
		}
		assert.Equal(t, ReasonTransportError, ce.Reason)
		assert.Contains(t, ce.Error(), "maximum payload size")
		assert.Empty(t, c.ts.msgs, "the oversize message was delivered")
	})
}

func TestUnsupportedMethodOnSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	r := ts.request(t, http.MethodPut, "EIO=4&transport=polling&sid="+c.sid, "4x")
	requireError(t, r, http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	require.NoError(t, c.sess.Send(transport.TextPacket("alive")))
	assert.Equal(t, transport.TextPacket("alive"), c.recv(t))
}

func TestAbortedGETClosesSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	for len(ts.idlePolls) > 0 {
		<-ts.idlePolls
	}
	req, err := http.NewRequest(http.MethodGet, ts.url("EIO=4&transport=polling&sid="+c.sid), nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	done := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		done <- err
	}()
	<-ts.idlePolls
	// Abort the parked GET by dropping its connection.
	tr.CancelRequest(req) //nolint:staticcheck // RoundTrip has no other way to drop one request.
	require.Error(t, <-done)
	ce := waitClosed(t, c.sess)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, polling.ErrGetAborted)
}

func TestLargePayloadsBackToBack(t *testing.T) {
	t.Parallel()
	// Each GET's response is larger than net/http's write buffers, so it
	// reaches the client before the handler returns; the next GET, on a
	// fresh connection, must not be taken for an overlapping one.
	ts := newTestServer(t, &Options{CompressionThreshold: -1})
	c := ts.connect(t, modePolling)
	big := strings.Repeat("x", 64<<10)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 100 {
		require.NoError(t, c.sess.Send(transport.TextPacket(big)))
		resp, err := client.Get(ts.url("EIO=4&transport=polling&sid=" + c.sid))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %d: %s", i, body)
		require.Len(t, body, 1+len(big))
	}
	require.NoError(t, c.sess.Err())
}
