package ferry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

// countingAdapter is an application adapter built on the memory adapter,
// as a multi-server adapter would be.
type countingAdapter struct {
	*ferry.MemoryAdapter
	broadcasts atomic.Int32
	namespaces []string // of the broadcast packets
	mu         sync.Mutex
}

func (a *countingAdapter) Broadcast(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) error {
	a.broadcasts.Add(1)
	err := a.MemoryAdapter.Broadcast(ctx, pkt, opts)
	a.mu.Lock()
	a.namespaces = append(a.namespaces, a.Namespace().Name())
	a.mu.Unlock()
	return err
}

func (a *countingAdapter) Close() error { return errors.New("adapter refused to close") }

// lockedBuffer is a log sink safe to read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCustomAdapter(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		var logs lockedBuffer
		adapters := map[string]*countingAdapter{}
		var mu sync.Mutex
		ts := m.serve(t, &ferry.Options{
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
				a := &countingAdapter{MemoryAdapter: ferry.NewMemoryAdapter(nsp)}
				mu.Lock()
				adapters[nsp.Name()] = a
				mu.Unlock()
				return a
			},
		})
		admin := ts.Of("/admin")
		cs := ts.connect(t, "/admin", nil)
		got := events(cs, "news")
		require.Same(t, adapters["/admin"], admin.Adapter())

		require.NoError(t, admin.Emit("news", 1))
		require.NoError(t, admin.To("nobody").Emit("news", 2))
		require.NoError(t, ts.socket(t, cs).Broadcast().Emit("news", 3))
		require.NoError(t, admin.Emit("news", 4))
		require.Equal(t, 1, arg[int](t, recv(t, got), 0))
		require.Equal(t, 4, arg[int](t, recv(t, got), 0))
		require.EqualValues(t, 4, adapters["/admin"].broadcasts.Load())
		require.Equal(t, []string{"/admin", "/admin", "/admin", "/admin"}, adapters["/admin"].namespaces)
		require.Zero(t, adapters["/"].broadcasts.Load())

		// A failing adapter Close is logged, and does not stop the server
		// from closing.
		require.NoError(t, ts.Close())
		require.Contains(t, logs.String(), "adapter refused to close")
	})
}

// gateAdapter replays, deterministically, a room join racing with the
// socket's disconnection: once armed, it holds the next AddAll until DelAll
// has run for the socket, then lets it finish before DelAll returns, so
// that the add lands between the socket's leaving its rooms and its
// leaving the namespace.
type gateAdapter struct {
	*ferry.MemoryAdapter
	armed   atomic.Bool
	held    atomic.Bool
	entered chan string   // receives the id of the held AddAll's socket
	release chan struct{} // closed by DelAll
	added   chan struct{} // closed once the held AddAll is done
}

func newGateAdapter(nsp *ferry.Namespace) *gateAdapter {
	return &gateAdapter{
		MemoryAdapter: ferry.NewMemoryAdapter(nsp),
		entered:       make(chan string, 1),
		release:       make(chan struct{}),
		added:         make(chan struct{}),
	}
}

func (a *gateAdapter) AddAll(id string, rooms []string) {
	if !a.armed.CompareAndSwap(true, false) {
		a.MemoryAdapter.AddAll(id, rooms)
		return
	}
	a.held.Store(true)
	a.entered <- id
	<-a.release
	a.MemoryAdapter.AddAll(id, rooms)
	close(a.added)
}

func (a *gateAdapter) DelAll(id string) {
	a.MemoryAdapter.DelAll(id)
	if a.held.CompareAndSwap(true, false) {
		close(a.release)
		<-a.added
	}
}

// TestJoinRacingDisconnect checks that a Join that races with the
// socket's disconnection leaves nothing behind in the adapter.
func TestJoinRacingDisconnect(t *testing.T) {
	m := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}
	var gate *gateAdapter
	ts := m.serve(t, &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
		a := newGateAdapter(nsp)
		if nsp.Name() == "/" {
			gate = a
		}
		return a
	}})
	cs := ts.connect(t, "/", nil)
	s := ts.socket(t, cs)

	gate.armed.Store(true)
	joined := make(chan struct{})
	go func() {
		s.Join("gate")
		close(joined)
	}()
	require.Equal(t, s.ID(), recv(t, gate.entered))
	s.Disconnect(false)
	recv(t, joined)

	require.Empty(t, s.Rooms())
	require.Empty(t, adapterRooms(t, gate), "a disconnected socket is left in a room")
	found, err := ts.Of("/").In("gate").FetchSockets(bounded(t))
	require.NoError(t, err)
	require.Empty(t, found)
}

// TestConnectRacingClose checks that a socket whose connection closes
// while it is joining its namespace is not left behind, and its
// connection handlers do not run.
func TestConnectRacingClose(t *testing.T) {
	m := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}
	var gate *gateAdapter
	ts := m.serve(t, &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
		a := newGateAdapter(nsp)
		if nsp.Name() == "/" {
			gate = a
		}
		return a
	}})
	var handled atomic.Bool
	ts.OnConnection(func(s *ferry.Socket) { handled.Store(true) })
	gate.armed.Store(true)
	c := ts.dial(t, nil)
	connected := make(chan error, 1)
	go func() { connected <- c.Socket("/", nil).Connect(bounded(t)) }()

	id := recv(t, gate.entered) // joining: in the namespace, adding its own room
	s := ts.Of("/").Socket(id)
	require.NotNil(t, s)
	require.NoError(t, s.Conn().Close())
	require.Error(t, recv(t, connected))

	require.Eventually(t, func() bool { return len(adapterRooms(t, gate)) == 0 }, within, time.Millisecond,
		"a socket that never finished joining is left in its room")
	require.Nil(t, ts.Of("/").Socket(id))
	all, err := ts.Of("/").FetchSockets(bounded(t))
	require.NoError(t, err)
	require.Empty(t, all)
	require.False(t, handled.Load(), "connection handlers ran for a socket already gone")
}

// TestOwnRoom checks the memory adapter's rooms named after socket ids: a
// socket is in its own room until it leaves it, and other sockets may join
// a room by that name too.
func TestOwnRoom(t *testing.T) {
	m := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}
	ts := m.serve(t, nil)
	a := ts.socket(t, ts.connect(t, "/", nil))
	b := ts.socket(t, ts.connect(t, "/", nil))
	nsp := ts.Of("/")
	memory, ok := nsp.Adapter().(*ferry.MemoryAdapter)
	require.True(t, ok, "the default adapter is the memory adapter")
	fetch := func(sel ferry.Broadcast) []string {
		found, err := sel.FetchSockets(bounded(t))
		require.NoError(t, err)
		var ids []string
		for _, rs := range found {
			ids = append(ids, rs.ID)
		}
		return ids
	}

	require.Equal(t, []string{a.ID()}, a.Rooms())
	require.ElementsMatch(t, []string{a.ID(), b.ID()}, adapterRooms(t, memory))
	require.Equal(t, []string{a.ID()}, fetch(nsp.In(a.ID())))
	require.Equal(t, []string{b.ID()}, fetch(nsp.Except(a.ID())))

	// b joins a's room: it is reached by a's id, and left out with it.
	b.Join(a.ID())
	require.ElementsMatch(t, []string{a.ID(), b.ID()}, b.Rooms())
	require.ElementsMatch(t, []string{a.ID(), b.ID()}, fetch(nsp.In(a.ID())))
	require.ElementsMatch(t, []string{a.ID(), b.ID()}, fetch(nsp.In(a.ID(), b.ID())), "each socket once")
	require.Empty(t, fetch(nsp.Except(a.ID())))
	require.ElementsMatch(t, []string{a.ID(), b.ID()}, adapterRooms(t, memory), "a room named twice is listed once")

	// a leaves its own room; b is still in the room of that name.
	a.Leave(a.ID())
	require.Empty(t, a.Rooms())
	require.Equal(t, []string{b.ID()}, fetch(nsp.In(a.ID())))
	require.Contains(t, adapterRooms(t, memory), a.ID())
	b.Leave(a.ID())
	require.Empty(t, fetch(nsp.In(a.ID())))
	require.Equal(t, []string{b.ID()}, adapterRooms(t, memory))

	// Joining it again puts a back.
	a.Join(a.ID(), "r")
	require.ElementsMatch(t, []string{a.ID(), "r"}, a.Rooms())
	require.Equal(t, []string{a.ID()}, fetch(nsp.In(a.ID())))
	a.Disconnect(false)
	require.Empty(t, a.Rooms())
	require.Equal(t, []string{b.ID()}, adapterRooms(t, memory))
}

// adapterRooms returns the rooms a's namespace has on this server.
func adapterRooms(t testing.TB, a interface {
	Rooms(context.Context) ([]string, error)
}) []string {
	t.Helper()
	rooms, err := a.Rooms(bounded(t))
	require.NoError(t, err)
	return rooms
}
