package ferry_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// Connection state recovery seen from Ferry's Go client: a client whose
// connection drops comes back with its socket id, rooms and data, and its
// handlers get every event it missed, once, in order.

// interruptible is a test server whose gate, while shut, refuses new
// Engine.IO sessions (requests without a sid) with 503 and leaves live
// sessions alone: a client that lost its connection cannot come back until
// the test opens it, so what is sent meanwhile is missed for certain.
type interruptible struct {
	*testServer
	shut atomic.Bool
}

// serveInterruptible starts a server with opts (which may be nil) and
// connection state recovery on (recovery, or defaults when nil).
func (m mode) serveInterruptible(t testing.TB, opts *ferry.Options, recovery *ferry.RecoveryOptions) *interruptible {
	t.Helper()
	var o ferry.Options
	if opts != nil {
		o = *opts
	}
	o.Parser = m.codec
	if o.Logger == nil {
		o.Logger = quiet
	}
	if recovery == nil {
		recovery = &ferry.RecoveryOptions{}
	}
	o.ConnectionStateRecovery = recovery
	srv := ferry.NewServer(&o)
	it := &interruptible{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if it.shut.Load() && !r.URL.Query().Has("sid") {
			http.Error(w, "the test keeps new sessions out", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	it.testServer = &testServer{Server: srv, URL: hs.URL, mode: m}
	return it
}

// reconnecting returns client options that reconnect at once.
func (it *interruptible) reconnecting() *client.Options {
	o := it.clientOptions()
	o.DisableReconnection = false
	return o
}

// tracked is a client socket with channels reporting its connections
// (whether each one recovered) and disconnections.
type tracked struct {
	*client.Socket
	connects    chan bool
	disconnects <-chan client.DisconnectReason
}

// join dials a reconnecting client and joins namespace "/" with auth;
// handlers registered with on are in place before the CONNECT goes out.
func (it *interruptible) join(t testing.TB, auth any, on ...func(*client.Socket)) *tracked {
	t.Helper()
	s := it.dial(t, it.reconnecting()).Socket("/", &client.SocketOptions{Auth: auth})
	tr := &tracked{Socket: s, connects: make(chan bool, 16), disconnects: clientReasons(s)}
	s.OnConnect(func() { tr.connects <- s.Recovered() })
	for _, f := range on {
		f(s)
	}
	require.NoError(t, s.Connect(bounded(t)))
	require.False(t, recv(t, tr.connects), "a first connection is fresh")
	require.False(t, s.Recovered())
	return tr
}

// drop shuts the gate and closes the connection of server socket s
// ("forced close", which allows recovery); it returns once both sides saw
// the socket disconnect.
func (it *interruptible) drop(t testing.TB, s *ferry.Socket, c *tracked) {
	t.Helper()
	gone := make(reasons, 1)
	gone.watch(s)
	it.shut.Store(true)
	require.NoError(t, s.Conn().Close())
	assert.Equal(t, "forced close", recv(t, gone))
	assert.Equal(t, client.ReasonTransportClose, recv(t, c.disconnects))
}

// texts receives "msg" events until one whose first argument is last, and
// returns their first arguments in order. Each must carry an offset, a
// string, as its extra last argument.
func texts(t testing.TB, ch <-chan *client.Event, last string) []string {
	t.Helper()
	var out []string
	for {
		e := recv(t, ch)
		require.Len(t, e.Args, 2, "text and offset")
		assert.NotEmpty(t, arg[string](t, e, 1), "the offset")
		text := arg[string](t, e, 0)
		out = append(out, text)
		if text == last {
			return out
		}
	}
}

type tokenAuth struct {
	Token string `json:"token"`
}

// TestRecoveryGoClient drops a client's connection while the server, and
// another client, send to a room it is in and to it alone. It comes back
// recovered: the same socket id, its rooms and data, Recovered true on
// both sides, and every missed event once, in order, before OnConnect.
func TestRecoveryGoClient(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		it := m.serveInterruptible(t, nil, nil)
		joined := sockets(it.Of("/"))
		var msgs <-chan *client.Event
		a := it.join(t, tokenAuth{Token: "secret"}, func(s *client.Socket) { msgs = events(s, "msg") })
		sa := recv(t, joined)
		id := a.ID()
		assert.Equal(t, sa.ID(), id)
		assert.False(t, sa.Recovered())
		sa.Join("room")
		sa.SetData("kept")
		m.upgraded(t, sa)

		b := it.join(t, nil)
		sb := recv(t, joined)
		require.NoError(t, sb.To("room").Emit("msg", "before"))
		require.NoError(t, sa.Emit("msg", "direct before"))
		assert.Equal(t, []string{"before", "direct before"}, texts(t, msgs, "direct before"))

		it.drop(t, sa, a)
		for i := 1; i <= 2; i++ {
			require.NoError(t, sb.To("room").Emit("msg", fmt.Sprintf("from b %d", i)))
		}
		require.NoError(t, it.To("room").Emit("msg", "from the server"))
		require.NoError(t, it.To(id).Emit("msg", "to it alone"))
		require.NoError(t, it.To("elsewhere").Emit("msg", "not for it"))
		require.NoError(t, sb.Emit("msg", "to b alone"))
		it.shut.Store(false)

		assert.True(t, recv(t, a.connects), "recovered")
		assert.Len(t, msgs, 4, "the missed events reached the handlers before OnConnect")
		assert.True(t, a.Recovered())
		assert.Equal(t, id, a.ID(), "same socket id")
		restored := recv(t, joined)
		assert.Equal(t, id, restored.ID())
		assert.True(t, restored.Recovered())
		assert.Equal(t, "kept", restored.Data())
		assert.ElementsMatch(t, []string{id, "room"}, restored.Rooms())

		require.NoError(t, it.To("room").Emit("msg", "after"))
		assert.Equal(t, []string{"from b 1", "from b 2", "from the server", "to it alone", "after"}, texts(t, msgs, "after"))
		var auth tokenAuth
		require.NoError(t, restored.Handshake().DecodeAuth(&auth))
		assert.Equal(t, "secret", auth.Token, "the app's auth, merged with the recovery fields")
		assert.False(t, b.Recovered())
	})
}

// TestRecoveryGoClientNoEvent: a client that received no event before its
// connection dropped sends its private id without an offset, and Ferry
// recovers it anyway (socket.io does not): the events sent after it
// connected are replayed.
func TestRecoveryGoClientNoEvent(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		it := m.serveInterruptible(t, nil, nil)
		joined := sockets(it.Of("/"))
		require.NoError(t, it.To("room").Emit("msg", "before it connected"))
		var msgs <-chan *client.Event
		a := it.join(t, nil, func(s *client.Socket) { msgs = events(s, "msg") })
		sa := recv(t, joined)
		sa.Join("room")
		m.upgraded(t, sa)

		it.drop(t, sa, a)
		require.NoError(t, it.To("room").Emit("msg", "missed"))
		it.shut.Store(false)

		assert.True(t, recv(t, a.connects), "recovered without an offset")
		restored := recv(t, joined)
		var auth map[string]any
		require.NoError(t, restored.Handshake().DecodeAuth(&auth))
		assert.NotEmpty(t, auth["pid"])
		assert.NotContains(t, auth, "offset", "the client got no event, so it has no offset")
		require.NoError(t, it.To("room").Emit("msg", "after"))
		assert.Equal(t, []string{"missed", "after"}, texts(t, msgs, "after"))
	})
}

// TestRecoveryGoClientFresh: a client that missed more than
// MaxMissedPackets gets a fresh connection: a new socket id, Recovered
// false on both sides, and none of the missed events. That fresh session
// is then recoverable with its own private id; the client sends no offset
// of the old session, so the old missed events stay out of it.
func TestRecoveryGoClientFresh(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		it := m.serveInterruptible(t, nil, &ferry.RecoveryOptions{MaxMissedPackets: 2})
		// The room is joined before the test hears of the socket.
		it.OnConnection(func(s *ferry.Socket) { s.Join("room") })
		joined := sockets(it.Of("/"))
		var msgs <-chan *client.Event
		a := it.join(t, nil, func(s *client.Socket) { msgs = events(s, "msg") })
		sa := recv(t, joined)
		first := a.ID()
		require.NoError(t, it.To("room").Emit("msg", "first"))
		assert.Equal(t, []string{"first"}, texts(t, msgs, "first"))
		m.upgraded(t, sa)

		it.drop(t, sa, a)
		for i := 1; i <= 3; i++ {
			require.NoError(t, it.To("room").Emit("msg", fmt.Sprintf("missed %d", i)))
		}
		it.shut.Store(false)
		assert.False(t, recv(t, a.connects), "too much missed: a fresh connection")
		assert.False(t, a.Recovered())
		second := a.ID()
		assert.NotEqual(t, first, second)
		sa = recv(t, joined)
		assert.False(t, sa.Recovered())
		assert.Equal(t, second, sa.ID())
		m.upgraded(t, sa)

		it.drop(t, sa, a)
		require.NoError(t, it.To("room").Emit("msg", "missed again"))
		it.shut.Store(false)
		assert.True(t, recv(t, a.connects), "the fresh session recovers")
		assert.Equal(t, second, a.ID())
		restored := recv(t, joined)
		var auth map[string]any
		require.NoError(t, restored.Handshake().DecodeAuth(&auth))
		assert.NotContains(t, auth, "offset", "no event came in the fresh session")
		require.NoError(t, it.To("room").Emit("msg", "after"))
		assert.Equal(t, []string{"missed again", "after"}, texts(t, msgs, "after"),
			"only what the fresh session missed")
	})
}

// TestRecoverySocketEmitWhileAway: with recovery on, Socket.Emit on a
// socket whose connection dropped is kept for it, as socket.io's
// socket.emit is (it goes through the adapter to the socket's own room):
// the client gets it when it recovers.
func TestRecoverySocketEmitWhileAway(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		it := m.serveInterruptible(t, nil, nil)
		joined := sockets(it.Of("/"))
		var msgs <-chan *client.Event
		a := it.join(t, nil, func(s *client.Socket) { msgs = events(s, "msg") })
		sa := recv(t, joined)
		m.upgraded(t, sa)

		it.drop(t, sa, a)
		assert.NoError(t, sa.Emit("msg", "while away"))
		it.shut.Store(false)
		assert.True(t, recv(t, a.connects), "recovered")
		restored := recv(t, joined)
		require.NoError(t, restored.Emit("msg", "after"))
		assert.Equal(t, []string{"while away", "after"}, texts(t, msgs, "after"))
	})
}

// TestRecoveryStaleOffset: an offset from before the session connected
// (socket.io-client keeps its last offset across a fresh session; here the
// auth sets one, whose keys win as in socket.io-client) replays nothing
// that was sent before the socket connected.
func TestRecoveryStaleOffset(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		it := m.serveInterruptible(t, nil, nil)
		// The room is joined before the test hears of the socket.
		it.OnConnection(func(s *ferry.Socket) { s.Join("room") })
		joined := sockets(it.Of("/"))
		var first <-chan *client.Event
		it.join(t, nil, func(s *client.Socket) { first = events(s, "msg") })
		recv(t, joined)
		require.NoError(t, it.To("room").Emit("msg", "old"))
		stale := arg[string](t, recv(t, first), 1)
		require.NoError(t, it.To("room").Emit("msg", "before it connected"))

		// The auth's offset wins over the client's own, as in socket.io-client.
		var msgs <-chan *client.Event
		b := it.join(t, map[string]any{"offset": stale}, func(s *client.Socket) { msgs = events(s, "msg") })
		sb := recv(t, joined)
		m.upgraded(t, sb)
		it.drop(t, sb, b)
		require.NoError(t, it.To("room").Emit("msg", "missed"))
		it.shut.Store(false)
		assert.True(t, recv(t, b.connects))
		require.NoError(t, it.To("room").Emit("msg", "after"))
		assert.Equal(t, []string{"missed", "after"}, texts(t, msgs, "after"), "only what it missed")
	})
}
