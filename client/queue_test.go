package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// stalledServer is a minimal Engine.IO long-polling server (JSON parser)
// that accepts the namespace CONNECT, then holds every other POST until the
// request ends: a server that stopped reading. Each held POST's body is
// sent on held.
type stalledServer struct {
	*httptest.Server
	held chan string
	out  chan string // Engine.IO payloads for the next GET
}

func newStalledServer(t *testing.T) *stalledServer {
	s := &stalledServer{held: make(chan string, 16), out: make(chan string, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stalledServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	switch {
	case r.URL.Query().Get("sid") == "":
		_, _ = io.WriteString(w, `0{"sid":"stalled","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	case r.Method == http.MethodGet:
		select {
		case p := <-s.out:
			_, _ = io.WriteString(w, p)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if string(body) == "40" {
			s.out <- `40{"sid":"socket"}`
			_, _ = io.WriteString(w, "ok")
			return
		}
		s.held <- string(body)
		<-r.Context().Done()
	}
}

// TestQueueFullClosesConnection checks the bound on the session's queue:
// with the writer stuck on a server that stopped reading, emits fill the
// queue up to MaxQueuedPackets; the next is refused with ErrQueueFull and
// the connection closes at once with ReasonQueueFull, failing the ack of the
// event already sent. Only long-polling can hold the writer
// deterministically (a stalled WebSocket first fills the kernel's buffers);
// the bound itself does not depend on the transport.
func TestQueueFullClosesConnection(t *testing.T) {
	srv := newStalledServer(t)
	c := dial(t, srv.URL, &client.Options{
		Transports:          []string{"polling"},
		Parser:              parser.JSON(),
		MaxQueuedPackets:    3,
		DisableReconnection: true,
		Logger:              slog.New(slog.DiscardHandler),
	})
	s := c.Socket("/", nil)
	reasons := make(chan client.DisconnectReason, 1)
	s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
	require.NoError(t, s.Connect(testCtx(t)))

	sent := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "first")
		sent <- err
	}()
	assert.Equal(t, `420["first"]`, next(t, srv.held), "the writer's POST is held; the queue is empty")

	for i := range 3 {
		require.NoError(t, s.Emit("fill", i), "packet %d fits in the queue", i+1)
	}
	err := s.Emit("one too many")
	require.ErrorIs(t, err, client.ErrQueueFull)

	assert.Equal(t, client.ReasonQueueFull, next(t, reasons), "the connection closes although the writer is blocked")
	ackErr := next(t, sent)
	var de *client.DisconnectError
	require.ErrorAs(t, ackErr, &de)
	assert.Equal(t, client.ReasonQueueFull, de.Reason)
	assert.ErrorIs(t, ackErr, client.ErrQueueFull)
	assert.ErrorIs(t, ackErr, client.ErrDisconnected)
	assert.False(t, s.Active(), "without reconnection the socket stops")
	assert.Empty(t, srv.held, "nothing was written after the overflow")
}

// TestBufferFullStopsSocket checks the bound on a Socket's buffer of events
// emitted while it is not connected: the buffer holds MaxQueuedPackets
// packets, the next emit is refused with ErrQueueFull, and the socket stops
// with ReasonQueueFull, reported to OnConnectError since it was waiting to
// rejoin. TestSocketBufferOverflow (internal) checks its pending
// acknowledgements.
func TestBufferFullStopsSocket(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		srv := ownServer(t, serverConfig{parser: m.parser})
		opts := m.options()
		opts.MaxQueuedPackets = 4
		c := dial(t, srv.url, opts)
		s := c.Socket("/", nil)
		reasons := make(chan client.DisconnectReason, 4)
		s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
		connectErrs := make(chan error, 64)
		s.OnConnectError(func(err error) { connectErrs <- err })
		require.NoError(t, s.Connect(testCtx(t)))

		srv.stop()
		reason := next(t, reasons)
		require.True(t, reason.Reconnects(), "lost with %q", reason)
		require.True(t, s.Active(), "the socket waits to reconnect")

		for i := range 4 {
			require.NoError(t, s.Emit("buffered", i), "packet %d fits in the buffer", i+1)
		}
		require.ErrorIs(t, s.Emit("one too many"), client.ErrQueueFull)
		assert.False(t, s.Active(), "a socket whose buffer overflowed stops")
		assert.ErrorIs(t, s.Emit("after"), client.ErrInactive)
		for {
			err := next(t, connectErrs)
			if errors.Is(err, client.ErrQueueFull) {
				var de *client.DisconnectError
				require.ErrorAs(t, err, &de)
				assert.Equal(t, client.ReasonQueueFull, de.Reason)
				break
			}
			// Failed reconnection attempts are reported too.
		}
		assert.Empty(t, reasons, "OnDisconnect ran once, when the connection was lost")
	})
}
