package ferry_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

func TestServerClose(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		gone := make(reasons, 4)
		ts.Use(gone.middleware)
		ts.Of("/admin").Use(gone.middleware)
		c := ts.dial(t, nil)
		main, admin := c.Socket("/", nil), c.Socket("/admin", nil)
		mainGone, adminGone := clientReasons(main), clientReasons(admin)
		require.NoError(t, main.Connect(bounded(t)))
		require.NoError(t, admin.Connect(bounded(t)))
		other := ts.connect(t, "/", nil)
		otherGone := clientReasons(other)
		s := ts.socket(t, main)
		m.upgraded(t, s)
		m.upgraded(t, ts.socket(t, other))

		require.NoError(t, ts.Close())
		for range 3 {
			require.Equal(t, "server shutting down", recv(t, gone))
		}
		for _, ch := range []<-chan client.DisconnectReason{mainGone, adminGone, otherGone} {
			why := recv(t, ch)
			if m.name == "polling" {
				// Close does not wait: a long-poll held at that moment is
				// answered with a close packet ("transport close"), while
				// a client between two polls finds its session gone
				// ("transport error"), as with socket.io's io.close().
				require.Contains(t, []client.DisconnectReason{client.ReasonTransportClose, client.ReasonTransportError}, why)
			} else {
				require.Equal(t, client.ReasonTransportClose, why)
			}
		}
		require.False(t, s.Connected())
		require.ErrorIs(t, s.Emit("late"), ferry.ErrDisconnected)
		require.NoError(t, ts.Emit("late"), "a broadcast to no one is not an error")

		require.ErrorIs(t, ts.Close(), ferry.ErrServerClosed)
		require.ErrorIs(t, ts.Shutdown(bounded(t)), ferry.ErrServerClosed)

		// New connections are refused.
		_, err := client.Dial(bounded(t), ts.URL, ts.clientOptions())
		require.Error(t, err)
	})
}

// TestServerShutdown checks that Shutdown writes what is queued before it
// closes each connection.
func TestServerShutdown(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		gone := make(reasons, 2)
		ts.Use(gone.middleware)
		cs := ts.connect(t, "/", nil)
		seq := events(cs, "seq")
		clientGone := clientReasons(cs)
		s := ts.socket(t, cs)

		const n = 500
		for i := range n {
			require.NoError(t, s.Emit("seq", i))
		}
		require.NoError(t, ts.Shutdown(bounded(t)))
		require.Equal(t, "server shutting down", recv(t, gone))
		select {
		case <-s.Conn().Done():
		default:
			t.Fatal("Shutdown returned before the connection closed")
		}

		require.Equal(t, client.ReasonTransportClose, recv(t, clientGone))
		// Handlers run in order on the client: every event came before the
		// disconnection.
		require.Len(t, seq, n)
		for i := range n {
			require.Equal(t, i, arg[int](t, <-seq, 0))
		}

		require.ErrorIs(t, ts.Shutdown(bounded(t)), ferry.ErrServerClosed)
		require.ErrorIs(t, ts.Close(), ferry.ErrServerClosed)
	})
}

// TestMaxQueuedPackets checks that a client that does not read is
// disconnected once its queue overflows, and others are not affected.
func TestMaxQueuedPackets(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		const max = 16
		ts := m.serve(t, &ferry.Options{MaxQueuedPackets: max})
		gone := make(reasons, 2)
		ts.Use(gone.middleware)
		healthy := ts.connect(t, "/", nil)
		slow := ts.dialRaw(t, m.name)
		var ok map[string]string
		require.NoError(t, slow.join("/", nil).Payload.Decode(&ok))
		s := ts.Of("/").Socket(ok["sid"])
		require.NotNil(t, s)

		if m.name == "polling" {
			// Nothing leaves without a poll: the queue takes exactly max.
			for i := range max {
				require.NoError(t, s.Emit("fill", i), "packet %d", i)
			}
			require.ErrorIs(t, s.Emit("fill", max), ferry.ErrDisconnected)
		} else {
			// The WebSocket writer drains into the kernel's buffers until
			// they are full; then the queue fills.
			big := bytes.Repeat([]byte{'x'}, 64<<10)
			var err error
			for i := 0; i < 4096 && err == nil; i++ {
				err = s.Emit("fill", big)
			}
			require.ErrorIs(t, err, ferry.ErrDisconnected)
		}
		require.Equal(t, "transport error", recv(t, gone))
		require.False(t, s.Connected())
		require.True(t, healthy.Connected())
		require.True(t, ts.socket(t, healthy).Connected())
	})
}

func TestServeBundledClient(t *testing.T) {
	for _, disable := range []bool{false, true} {
		srv := ferry.NewServer(&ferry.Options{DisableClient: disable, Logger: quiet})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/ferry.min.js", nil))
		if disable {
			require.NotEqual(t, http.StatusOK, rec.Code)
		} else {
			require.Equal(t, http.StatusOK, rec.Code)
			require.NotZero(t, rec.Body.Len())
		}
		require.NoError(t, srv.Close())
	}
}
