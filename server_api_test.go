package ferry_test

import (
	"context"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// TestServerShortcuts checks the Server's methods for the main namespace:
// In, SocketsJoin, SocketsLeave, FetchSockets, EmitWithAck, Timeout, Local,
// Volatile, DisconnectSockets; and that they leave other namespaces alone.
func TestServerShortcuts(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		var clients []*client.Socket
		for range 2 {
			clients = append(clients, ts.connect(t, "/", nil, func(cs *client.Socket) {
				cs.On("q", func(e *client.Event) { e.Ack("yes") })
			}))
			recv(t, joined)
		}
		ts.Of("/admin")
		admin := ts.connect(t, "/admin", nil)
		adminGone := clientReasons(admin)
		ctx := bounded(t)

		require.NoError(t, ts.SocketsJoin(ctx, "all"))
		news := events(clients[1], "news")
		require.NoError(t, ts.In("all").Emit("news", "to all"))
		require.Equal(t, "to all", arg[string](t, recv(t, news), 0))
		require.NoError(t, ts.Local().Volatile().Emit("news", "local"))
		require.Equal(t, "local", arg[string](t, recv(t, news), 0))

		socks, err := ts.FetchSockets(ctx)
		require.NoError(t, err)
		require.Len(t, socks, 2)
		for _, rs := range socks {
			require.Contains(t, rs.Rooms, "all")
		}

		acks, err := ts.EmitWithAck(ctx, "q")
		require.NoError(t, err)
		require.Len(t, acks, 2)
		acks, err = ts.Timeout(within).EmitWithAck(context.Background(), "q")
		require.NoError(t, err)
		require.Len(t, acks, 2)

		require.NoError(t, ts.SocketsLeave(ctx, "all"))
		n, err := ts.In("all").SocketCount(ctx)
		require.NoError(t, err)
		require.Zero(t, n)

		gone := clientReasons(clients[0])
		require.NoError(t, ts.DisconnectSockets(ctx, false))
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone))
		require.Eventually(t, func() bool { n, _ := ts.SocketCount(ctx); return n == 0 }, within, time.Millisecond)
		require.True(t, admin.Connected(), "another namespace's socket stays")
		require.Empty(t, adminGone)
	})
}

// TestCounts checks ConnCount (connections, whatever namespaces they
// joined) and SocketCount of a namespace, of a room, locally, and of a
// dynamic parent, as sockets come and go.
func TestCounts(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ctx := bounded(t)
		count := func(b interface {
			SocketCount(context.Context) (int, error)
		}) int {
			t.Helper()
			n, err := b.SocketCount(ctx)
			require.NoError(t, err)
			return n
		}
		require.Zero(t, ts.ConnCount())
		require.Zero(t, count(ts))

		joined := sockets(ts.Of("/"))
		ts.Of("/admin")
		c1 := ts.dial(t, nil)
		require.NoError(t, c1.Socket("/", nil).Connect(ctx))
		require.NoError(t, c1.Socket("/admin", nil).Connect(ctx))
		recv(t, joined).Join("red")
		c2 := ts.dial(t, nil)
		cs2 := c2.Socket("/", nil)
		require.NoError(t, cs2.Connect(ctx))
		s2 := recv(t, joined)
		s2.Join("red", "blue")
		ts.dial(t, nil) // a connection that joins no namespace
		dyn := ts.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
		require.NoError(t, c2.Socket("/room-1", nil).Connect(ctx))
		require.NoError(t, c2.Socket("/room-2", nil).Connect(ctx))

		require.Equal(t, 3, ts.ConnCount())
		require.Equal(t, 2, count(ts))
		require.Equal(t, 2, count(ts.Of("/")))
		require.Equal(t, 1, count(ts.Of("/admin")))
		require.Equal(t, 2, count(ts.In("red")))
		require.Equal(t, 2, count(ts.In("red", "blue")), "each socket once")
		require.Equal(t, 1, count(ts.Except("blue")))
		require.Equal(t, 1, count(ts.In(s2.ID())), "a socket's own room")
		require.Equal(t, 2, count(ts.Local()))
		require.Equal(t, 2, count(dyn), "a dynamic parent counts its children's sockets")
		require.Equal(t, 1, count(ts.Of("/room-1")))

		cs2.Disconnect()
		require.Eventually(t, func() bool { return count(ts) == 1 }, within, time.Millisecond)
		require.Equal(t, 1, count(ts.In("red")))
		require.Zero(t, count(ts.In("blue")))
		c2.Close()
		require.Eventually(t, func() bool { return ts.ConnCount() == 2 }, within, time.Millisecond)
		require.Eventually(t, func() bool { return count(dyn) == 0 }, within, time.Millisecond)
	})
}

// fetchCountAdapter is a cluster adapter as seen from this server: its
// FetchSockets adds the sockets of another server, and, with counter, it
// counts them without fetching.
type fetchCountAdapter struct {
	*ferry.MemoryAdapter
	remote  int // sockets on the other server
	fetches atomic.Int32
}

func (a *fetchCountAdapter) FetchSockets(ctx context.Context, opts ferry.BroadcastOptions) ([]*ferry.RemoteSocket, error) {
	a.fetches.Add(1)
	out, err := a.MemoryAdapter.FetchSockets(ctx, opts)
	if !opts.Local {
		for range a.remote {
			out = append(out, ferry.NewRemoteSocket(a.Namespace(), "remote", &ferry.Handshake{}, nil, nil))
		}
	}
	return out, err
}

// socketCounter adds SocketCounter to fetchCountAdapter.
type socketCounter struct{ *fetchCountAdapter }

func (a socketCounter) CountSockets(ctx context.Context, opts ferry.BroadcastOptions) (int, error) {
	local, err := a.MemoryAdapter.FetchSockets(ctx, opts) // this server's, not counted as a fetch
	n := len(local)
	if !opts.Local {
		n += a.remote
	}
	return n, err
}

// TestSocketCountCluster checks that SocketCount counts other servers'
// sockets through the adapter: with CountSockets when it implements
// SocketCounter, by fetching them otherwise; an adapter that embeds the
// MemoryAdapter is not mistaken for it.
func TestSocketCountCluster(t *testing.T) {
	for _, counter := range []bool{false, true} {
		name := "fetching"
		if counter {
			name = "SocketCounter"
		}
		t.Run(name, func(t *testing.T) {
			var adapter *fetchCountAdapter
			m := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}
			ts := m.serve(t, &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
				a := &fetchCountAdapter{MemoryAdapter: ferry.NewMemoryAdapter(nsp), remote: 3}
				if nsp.Name() != "/" {
					return a
				}
				adapter = a
				if counter {
					return socketCounter{a}
				}
				return a
			}})
			ts.connect(t, "/", nil)
			ctx := bounded(t)
			n, err := ts.SocketCount(ctx)
			require.NoError(t, err)
			require.Equal(t, 4, n)
			n, err = ts.Local().SocketCount(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			wantFetches := 2
			if counter {
				wantFetches = 0
			}
			require.EqualValues(t, wantFetches, adapter.fetches.Load())
		})
	}
}

// TestWriteTimeout checks that Options.WriteTimeout reaches the
// connections: a WebSocket client that stops reading is disconnected with
// "transport error" once its writes stall that long, well before the
// default (10s) would. Ferry's Options had no such field; the session's
// own tests cover both transports.
func TestWriteTimeout(t *testing.T) {
	m := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}
	ts := m.serve(t, &ferry.Options{
		WriteTimeout: 100 * time.Millisecond,
		PingInterval: time.Hour, // no heartbeat to end it first
	})
	joined := sockets(ts.Of("/"))
	r := ts.dialRaw(t, "websocket")
	r.join("/", nil)
	s := recv(t, joined)
	gone := make(chan ferry.DisconnectReason, 1)
	s.OnDisconnect(func(_ *ferry.Socket, why ferry.DisconnectReason) { gone <- why })

	// More than loopback's socket buffers hold, which the client never
	// reads.
	chunk := make([]byte, 256<<10)
	for range 128 {
		if s.Emit("fill", chunk) != nil {
			break
		}
	}
	select {
	case why := <-gone:
		require.Equal(t, ferry.ReasonTransportError, why)
	case <-time.After(5 * time.Second):
		t.Fatal("a client that stopped reading was not disconnected within half the default WriteTimeout")
	}
}
