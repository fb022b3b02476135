package ferry_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// promptly bounds a Shutdown that must not wait for anyone absent: far
// below the context deadlines the tests give it, far above what closing a
// few sessions takes on a loaded machine.
const promptly = time.Second

// TestShutdownAbsentPollingClient checks that a long-polling client that
// has stopped polling holds Shutdown no longer than a short grace for its
// next GET: then its last packets are dropped and its session closes.
func TestShutdownAbsentPollingClient(t *testing.T) {
	t.Parallel()
	m := mode{name: "polling", codec: defaultCodec()}
	ts := m.serve(t, nil)
	gone := make(reasons, 1)
	ts.Use(gone.middleware)
	r := ts.dialRaw(t, "polling")
	r.join("/", nil) // and never polls again
	require.NoError(t, ts.Of("/").Emit("unread"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, ts.Shutdown(ctx))
	elapsed := time.Since(start)
	require.Less(t, elapsed, promptly, "Shutdown waited for a client that had stopped polling")
	t.Logf("Shutdown took %v", elapsed)
	require.Equal(t, "server shutting down", recv(t, gone))
	// Its next poll finds the session gone.
	r.waitClosed()
}

// TestShutdownDeadline checks that Shutdown gives up when its context ends
// while a connection is still writing what was queued for it: here a
// WebSocket client that stopped reading, with more queued than the socket
// buffers hold. What remains is then closed at once.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	m := mode{name: "websocket", codec: defaultCodec()}
	ts := m.serve(t, nil)
	gone := make(reasons, 1)
	ts.Use(gone.middleware)
	r := ts.dialRaw(t, "websocket")
	var ok map[string]string
	require.NoError(t, r.join("/", nil).Payload.Decode(&ok))
	s := ts.Of("/").Socket(ok["sid"])
	require.NotNil(t, s)
	big := make([]byte, 256<<10)
	for range 64 { // 16 MiB, and the client reads none of it
		require.NoError(t, s.Emit("fill", big))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, ts.Shutdown(ctx), context.DeadlineExceeded)
	require.Equal(t, "server shutting down", recv(t, gone))
	select {
	case <-s.Conn().Done():
	default:
		t.Fatal("the connection outlived Shutdown's deadline")
	}
}

// TestShutdownManyClients shuts down a server with 1,000 live clients,
// a third each on long-polling, WebSocket and polling upgraded to
// WebSocket: Shutdown returns once every connection is closed, and every
// client hears of it.
func TestShutdownManyClients(t *testing.T) {
	const n = 1000
	ts := mode{codec: defaultCodec()}.serve(t, nil)
	serverGone := make(reasons, n)
	ts.Use(serverGone.middleware)
	socks := sockets(ts.Of("/"))

	// One HTTP client for all: a long-poll holds a connection, and with it
	// two goroutines, but idle ones are pooled instead of kept per client,
	// which keeps the test under the race detector's goroutine limit.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(hc.CloseIdleConnections)
	clientGone := make(chan client.DisconnectReason, n)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				opts := ts.clientOptions()
				opts.Transports = transportModes[i%len(transportModes)].transports
				opts.HTTPClient = hc
				c, err := client.Dial(bounded(t), ts.URL, opts)
				if err == nil {
					s := c.Socket("/", nil)
					s.OnDisconnect(func(r client.DisconnectReason) { clientGone <- r })
					err = s.Connect(bounded(t))
					t.Cleanup(func() { c.Close() })
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("client %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	require.Empty(t, errs)
	conns := make([]*ferry.Socket, n)
	for i := range conns {
		conns[i] = recv(t, socks)
	}
	t.Logf("%d clients connected, %d goroutines", n, runtime.NumGoroutine())

	start := time.Now()
	require.NoError(t, ts.Shutdown(bounded(t)))
	elapsed := time.Since(start)
	t.Logf("Shutdown with %d clients took %v", n, elapsed)
	for _, s := range conns {
		select {
		case <-s.Conn().Done():
		default:
			t.Fatal("Shutdown returned before every connection closed")
		}
	}
	for range n {
		require.Equal(t, "server shutting down", recv(t, serverGone))
	}
	for range n {
		// A WebSocket, a long-poll held at that moment, and the next
		// long-poll of a client between two polls get a close packet
		// ("transport close"); a client slower to poll again than the
		// grace finds its session gone ("transport error").
		require.Contains(t, []client.DisconnectReason{client.ReasonTransportClose, client.ReasonTransportError},
			recv(t, clientGone))
	}
}

// TestShutdownFailsPendingAcks checks what Shutdown does to the server's
// EmitWithAck calls still waiting for clients: each fails at once with
// ErrDisconnected, and none waits for its own context.
func TestShutdownFailsPendingAcks(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		const clients, perClient = 10, 25
		ts := m.serve(t, nil)
		socks := sockets(ts.Of("/"))
		asked := make(chan struct{}, clients*perClient)
		for range clients {
			// The clients take the events and never acknowledge them.
			ts.connect(t, "/", nil, func(s *client.Socket) {
				s.On("ask", func(*client.Event) { asked <- struct{}{} })
			})
		}
		results := make(chan error, clients*perClient)
		for range clients {
			s := recv(t, socks)
			for i := range perClient {
				go func() {
					_, err := s.EmitWithAck(bounded(t), "ask", i)
					results <- err
				}()
			}
		}
		for range clients * perClient {
			recv(t, asked) // every ack is now awaited
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, ts.Shutdown(ctx))
		for range clients * perClient {
			require.ErrorIs(t, recv(t, results), ferry.ErrDisconnected)
		}
		require.Less(t, time.Since(start), promptly, "acks waited for something")
	})
}
