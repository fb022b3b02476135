package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
)

// recoveryWindow is the reference server's maxDisconnectionDuration in the
// recovery tests, in ms: far longer than any test takes.
const recoveryWindow = 60_000

// gate holds a client's reconnection for as long as a test needs: while
// shut, it refuses to open new Engine.IO sessions (polling requests without
// a sid, and WebSocket dials) and leaves the live session alone, so that
// events sent while the client is away are missed for certain.
type gate struct {
	shut atomic.Bool
	tr   *http.Transport
}

var errGateShut = errors.New("gate shut by the test")

// newGate returns an open gate; its idle connections are released when t
// ends, after the clients.
func newGate(t *testing.T) *gate {
	g := &gate{tr: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(g.tr.CloseIdleConnections)
	return g
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if g.shut.Load() && !r.URL.Query().Has("sid") {
		return nil, errGateShut
	}
	return g.tr.RoundTrip(r)
}

func (g *gate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.shut.Load() {
		return nil, errGateShut
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// options returns o with its connections going through the gate.
func (g *gate) options(o *client.Options) *client.Options {
	o.HTTPClient = &http.Client{Transport: g}
	o.Dialer = &gorilla.Dialer{NetDialContext: g.dial, HandshakeTimeout: o.Timeout}
	return o
}

// watched is a socket with channels reporting its connections (whether
// each recovered) and disconnections.
type watched struct {
	*client.Socket
	connects    chan bool
	disconnects chan client.DisconnectReason
}

func watch(s *client.Socket) *watched {
	w := &watched{Socket: s, connects: make(chan bool, 16), disconnects: make(chan client.DisconnectReason, 16)}
	s.OnConnect(func() { w.connects <- s.Recovered() })
	s.OnDisconnect(func(r client.DisconnectReason) { w.disconnects <- r })
	return w
}

// texts receives "msg" events from ch until one carries last, and returns
// their first arguments in order.
func texts(t *testing.T, ch <-chan *client.Event, last string) []string {
	t.Helper()
	var out []string
	for {
		text := decode[string](t, next(t, ch).Args[0])
		out = append(out, text)
		if text == last {
			return out
		}
	}
}

// recoveryAuth is a struct auth payload: the client merges the recovery
// fields with its keys.
type recoveryAuth struct {
	Token string `json:"token"`
}

// TestRecoveryNode drops the connection of a client of socket.io 4.8's own
// server with connectionStateRecovery on, while another client sends to a
// room it is in and to it alone (its own room). When the client comes back
// it has its socket id again, Recovered reports true on both sides, and its
// handlers got every missed event once, in order, before OnConnect; the
// CONNECT carried the private id and the offset of the last event it
// received, merged with its auth.
func TestRecoveryNode(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		url := refServer(t, serverConfig{parser: m.parser, recovery: recoveryWindow})
		g := newGate(t)
		c := dial(t, url, g.options(m.options()))
		tok := token()
		a := watch(c.Socket("/", &client.SocketOptions{Auth: recoveryAuth{Token: tok}}))
		msgs := collect(a.Socket, "msg")
		welcomes := collect(a.Socket, "welcome")
		require.NoError(t, a.Connect(testCtx(t)))
		assert.False(t, next(t, a.connects), "a first connection is fresh")
		assert.False(t, a.Recovered())
		id := a.ID()
		assert.False(t, decode[bool](t, ack(t, a.Socket, "recovered")[0]))

		// socket.emit in the server's connection handler carries an
		// offset: the event's extra last argument, left for the app to
		// see, as socket.io-client does.
		welcome := next(t, welcomes)
		require.Len(t, welcome.Args, 2)
		assert.Equal(t, id, decode[string](t, welcome.Args[0]))
		assert.NotEmpty(t, decode[string](t, welcome.Args[1]))

		room := "room-" + token()
		ack(t, a.Socket, "join", room)
		b := connect(t, dial(t, url, m.options()), "/", nil)
		ack(t, b, "to-room", room, "msg", "before")
		before := next(t, msgs)
		require.Len(t, before.Args, 2, "text, offset")
		offset := decode[string](t, before.Args[1])
		if m.upgrades() {
			require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 5*time.Second, 5*time.Millisecond)
		}

		g.shut.Store(true)
		require.NoError(t, a.Emit("kill")) // the server closes the connection
		assert.Equal(t, client.ReasonTransportClose, next(t, a.disconnects))
		for i := 1; i <= 3; i++ {
			ack(t, b, "to-room", room, "msg", fmt.Sprintf("missed %d", i))
		}
		ack(t, b, "to-room", id, "msg", "direct") // its own room
		g.shut.Store(false)

		assert.True(t, next(t, a.connects), "the client recovered")
		assert.True(t, a.Recovered())
		assert.Equal(t, id, a.ID(), "same socket id")
		assert.True(t, decode[bool](t, ack(t, a.Socket, "recovered")[0]), "the server restored the socket")
		ack(t, b, "to-room", room, "msg", "after")
		assert.Equal(t, []string{"missed 1", "missed 2", "missed 3", "direct", "after"}, texts(t, msgs, "after"), "after \"before\": each missed event once, in order")

		auth := decode[map[string]any](t, ack(t, a.Socket, "auth")[0])
		assert.Equal(t, tok, auth["token"], "the app's auth")
		assert.Equal(t, offset, auth["offset"], "the offset of the last event received before the drop")
		assert.IsType(t, "", auth["pid"])
		assert.NotEmpty(t, auth["pid"])
	})
}

// TestRecoveryNodeFresh: a socket that disconnected for a reason that
// allows no recovery (the server disconnected it) sends its private id and
// offset when it connects again, and gets a fresh session: a new id,
// Recovered false. It then recovers from a later drop with the new
// session's private id.
func TestRecoveryNodeFresh(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		url := refServer(t, serverConfig{parser: m.parser, recovery: recoveryWindow})
		g := newGate(t)
		c := dial(t, url, g.options(m.options()))
		a := watch(c.Socket("/", nil))
		msgs := collect(a.Socket, "msg")
		require.NoError(t, a.Connect(testCtx(t)))
		assert.False(t, next(t, a.connects))
		first := a.ID()

		require.NoError(t, a.Emit("disconnect-me", false))
		assert.Equal(t, client.ReasonServerDisconnect, next(t, a.disconnects))
		require.NoError(t, a.Connect(testCtx(t)))
		assert.False(t, next(t, a.connects), "a server disconnect leaves nothing to recover")
		assert.False(t, a.Recovered())
		second := a.ID()
		assert.NotEqual(t, first, second)
		auth := decode[map[string]any](t, ack(t, a.Socket, "auth")[0])
		assert.NotEmpty(t, auth["pid"], "the old private id was sent")
		assert.NotEmpty(t, auth["offset"], "with the offset of the old session's welcome")

		ack(t, a.Socket, "to-room", second, "msg", "one")
		assert.Equal(t, []string{"one"}, texts(t, msgs, "one"))
		if m.upgrades() {
			require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 5*time.Second, 5*time.Millisecond)
		}
		g.shut.Store(true)
		require.NoError(t, a.Emit("kill"))
		assert.Equal(t, client.ReasonTransportClose, next(t, a.disconnects))
		b := connect(t, dial(t, url, m.options()), "/", nil)
		ack(t, b, "to-room", second, "msg", "two")
		g.shut.Store(false)
		assert.True(t, next(t, a.connects), "recovered with the new session's private id")
		assert.Equal(t, second, a.ID())
		ack(t, b, "to-room", second, "msg", "three")
		assert.Equal(t, []string{"two", "three"}, texts(t, msgs, "three"))
	})
}
