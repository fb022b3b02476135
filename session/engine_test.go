package session

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// requireRefusesHandshakes asserts that the engine refuses new sessions
// over both transports.
func requireRefusesHandshakes(t *testing.T, ts *testServer) {
	t.Helper()
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	requireError(t, r, http.StatusServiceUnavailable, `{"code":3,"message":"Bad request"}`)
	_, resp, err := ts.dial(t, "EIO=4&transport=websocket", nil)
	require.ErrorIs(t, err, gorilla.ErrBadHandshake)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, 0, ts.engine.Count())
}

func TestEngineClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	pc := ts.connect(t, modePolling)
	wc := ts.connect(t, modeWebSocket)
	uc := ts.connect(t, modeUpgrade)
	parked := pc.parkGET(t)
	// Close does not wait for queued packets.
	require.NoError(t, wc.sess.Send(transport.TextPacket("dropped")))

	require.NoError(t, ts.engine.Close())
	assert.Equal(t, 0, ts.engine.Count())
	for _, c := range []*testClient{pc, wc, uc} {
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonServerShuttingDown, ce.Reason)
		require.ErrorIs(t, c.sess.Send(transport.TextPacket("x")), ErrSessionClosed)
	}
	assert.Equal(t, "1", (<-parked).body)
	requireClosedConn(t, uc.ws)
	requireClosedConn(t, wc.ws)
	requireError(t, pc.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)

	requireRefusesHandshakes(t, ts)
	require.ErrorIs(t, ts.engine.Close(), ErrServerClosed)
	require.ErrorIs(t, ts.engine.Shutdown(context.Background()), ErrServerClosed)
}

func TestEngineShutdown(t *testing.T) {
	t.Parallel()
	run(t, nil, func(t *testing.T, c *testClient) {
		a, b := transport.TextPacket("a"), transport.TextPacket("b")
		var parked <-chan response
		if c.mode == modePolling {
			// A long-poll is parked, and packets are queued behind it
			// without waking it: Shutdown finds both.
			parked = c.parkGET(t)
			c.sess.mu.Lock()
			c.sess.queue = append(c.sess.queue, a, b)
			c.sess.mu.Unlock()
		} else {
			require.NoError(t, c.sess.Send(a, b))
		}
		done := make(chan error, 1)
		go func() { done <- c.ts.engine.Shutdown(context.Background()) }()

		// Queued messages are flushed, then the close packet.
		if c.mode == modePolling {
			r := <-parked
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, "4a\x1e4b\x1e1", r.body)
		} else {
			assert.Equal(t, []string{"4a", "4b", "1"}, wire(c.recvUntilClosed(t)...))
		}
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(waitFor):
			t.Fatal("Shutdown did not return")
		}
		assert.Equal(t, ReasonServerShuttingDown, waitClosed(t, c.sess).Reason)
		assert.Equal(t, 0, c.ts.engine.Count())
		if c.mode == modePolling {
			requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
		}

		requireRefusesHandshakes(t, c.ts)
		require.ErrorIs(t, c.ts.engine.Shutdown(context.Background()), ErrServerClosed)
		require.ErrorIs(t, c.ts.engine.Close(), ErrServerClosed)
	})
}

// A long-polling session with no GET parked holds Shutdown no longer than
// the grace for its next GET: its client may never poll again. It closes
// then, its queue dropped; so does one that was already closing, waiting
// for a GET. (shutdown_test.go checks the grace on a fake clock.)
func TestEngineShutdownPollingWithoutGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	idle := ts.connect(t, modePolling)
	require.NoError(t, idle.sess.Send(transport.TextPacket("never read")))
	closing := ts.connect(t, modePolling)
	require.NoError(t, closing.sess.Send(transport.TextPacket("never read either")))
	require.NoError(t, closing.sess.Close())

	// The default linger (PingTimeout) and this deadline are far above
	// the grace.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	start := time.Now()
	require.NoError(t, ts.engine.Shutdown(ctx))
	assert.Less(t, time.Since(start), time.Second, "Shutdown waited for a GET")
	assert.Equal(t, 0, ts.engine.Count())
	assert.Equal(t, ReasonServerShuttingDown, waitClosed(t, idle.sess).Reason)
	assert.Equal(t, ReasonForcedClose, waitClosed(t, closing.sess).Reason)
	for _, c := range []*testClient{idle, closing} {
		requireError(t, c.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	}
}

func TestEngineShutdownDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	// A WebSocket client that reads nothing of what is queued for it, more
	// than the socket buffers hold: its writer is blocked.
	c := ts.connect(t, modeWebSocket)
	big := transport.TextPacket(strings.Repeat("x", 256<<10))
	for range 64 {
		require.NoError(t, c.sess.Send(big))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, ts.engine.Shutdown(ctx), context.DeadlineExceeded)
	// What remained was closed when the deadline passed.
	assert.Equal(t, ReasonServerShuttingDown, waitClosed(t, c.sess).Reason)
	assert.Equal(t, 0, ts.engine.Count())
	require.ErrorIs(t, ts.engine.Close(), ErrServerClosed)
}

func TestEngineCloseDuringHandshakes(t *testing.T) {
	t.Parallel()
	// Handshakes racing with Close either fail or open a session that
	// Close then ends: none outlives it.
	ts := newTestServer(t, nil)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sessions []*Session
	)
	ts.engine.opts.OnConnection = func(s *Session) {
		mu.Lock()
		sessions = append(sessions, s)
		mu.Unlock()
	}
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			for range 20 {
				ts.tryRequest(http.MethodGet, "EIO=4&transport=polling", "")
			}
		})
	}
	close(start)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sessions) >= 8
	}, waitFor, time.Millisecond)
	require.NoError(t, ts.engine.Close())
	wg.Wait()
	assert.Equal(t, 0, ts.engine.Count())
	mu.Lock()
	defer mu.Unlock()
	for _, s := range sessions {
		select {
		case <-s.Done():
		default:
			t.Fatalf("session %s outlived Engine.Close", s.ID())
		}
	}
}
