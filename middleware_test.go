package ferry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// TestMiddlewareSocketState checks the socket a middleware sees: not
// connected yet; the rooms it joins are joined once it connects (they used
// to be dropped), and the events it emits are sent then.
func TestMiddlewareSocketState(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		type seen struct {
			connected bool
			rooms     []string
		}
		inMiddleware := make(chan seen, 1)
		ts.Use(func(s *ferry.Socket) error {
			s.Join("vip", "lobby", "temp")
			s.Join("vip")
			s.Leave("temp")
			require.NoError(t, s.Emit("early", 1))
			require.NoError(t, s.Volatile().Emit("early", "volatile"))
			require.NoError(t, s.Emit("early", 2))
			inMiddleware <- seen{s.Connected(), s.Rooms()}
			return nil
		})
		joined := sockets(ts.Of("/"))
		ts.OnConnection(func(s *ferry.Socket) { s.Emit("early", 3) })
		var early <-chan *client.Event
		cs := ts.connect(t, "/", nil, func(cs *client.Socket) { early = events(cs, "early") })
		// Events emitted by the middleware are held until the socket
		// connects, then sent ahead of the connection handlers' (the Go
		// client drops events for a socket not yet connected); volatile
		// ones are dropped.
		for want := 1; want <= 3; want++ {
			require.Equal(t, want, arg[int](t, recv(t, early), 0))
		}
		got := recv(t, inMiddleware)
		require.False(t, got.connected, "a socket is not connected while its middleware runs")
		require.Equal(t, []string{"lobby", "vip"}, got.rooms)

		s := recv(t, joined)
		require.True(t, s.Connected())
		require.ElementsMatch(t, []string{s.ID(), "lobby", "vip"}, s.Rooms(), "rooms joined in middleware are kept")
		news := events(cs, "news")
		require.NoError(t, ts.To("vip").Emit("news", "for vips"))
		require.Equal(t, "for vips", arg[string](t, recv(t, news), 0))
	})
}

// TestRefusedSocketIsClosed checks a socket that a middleware refuses: its
// context is done, it is not connected, it is in no room, and none of its
// handlers run. It used to stay "connected" with a live context forever.
func TestRefusedSocketIsClosed(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		refused := make(chan *ferry.Socket, 1)
		ran := make(chan string, 4)
		ts.Use(func(s *ferry.Socket) error {
			s.Context() // made before the refusal: it must be cancelled
			s.Join("vip")
			s.OnDisconnect(func(*ferry.Socket, ferry.DisconnectReason) { ran <- "disconnect" })
			s.OnDisconnecting(func(*ferry.Socket, ferry.DisconnectReason) { ran <- "disconnecting" })
			refused <- s
			return &ferry.ConnectError{Message: "no"}
		})
		ts.OnConnection(func(*ferry.Socket) { ran <- "connection" })

		cs := ts.dial(t, nil).Socket("/", nil)
		var ce *client.ConnectError
		require.ErrorAs(t, cs.Connect(bounded(t)), &ce)
		s := recv(t, refused)
		require.ErrorIs(t, s.Context().Err(), context.Canceled)
		require.False(t, s.Connected())
		require.Empty(t, s.Rooms())
		s.Join("late")
		require.Empty(t, s.Rooms(), "a refused socket joins nothing")
		require.ErrorIs(t, s.Emit("x"), ferry.ErrDisconnected)
		require.Nil(t, ts.Of("/").Socket(s.ID()))
		sockets, err := ts.Of("/").In("vip").FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Empty(t, sockets)
		require.Empty(t, ran, "no handler runs for a socket that never connected")
	})
}

// TestMiddlewareCutOffByClose checks a middleware waiting on the socket's
// context: when the connection closes (here by the connect timeout), the
// context is done and the middleware returns. It used to wait forever.
func TestMiddlewareCutOffByClose(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, &ferry.Options{ConnectTimeout: 100 * time.Millisecond})
		returned := make(chan error, 1)
		ts.Use(func(s *ferry.Socket) error {
			<-s.Context().Done()
			returned <- s.Context().Err()
			return errors.New("gone")
		})
		joined := sockets(ts.Of("/"))
		cs := ts.dial(t, nil).Socket("/", nil)
		require.Error(t, cs.Connect(bounded(t)))
		require.ErrorIs(t, recv(t, returned), context.Canceled)
		require.Empty(t, joined)
	})
}

// TestRefusedSocketSendsNothing checks that what a middleware emits before
// refusing the socket never reaches the client: its first packet is the
// CONNECT_ERROR.
func TestRefusedSocketSendsNothing(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.Use(func(s *ferry.Socket) error {
			require.NoError(t, s.Emit("early", 1))
			return &ferry.ConnectError{Message: "no"}
		})
		r := ts.dialRaw(t, m.name)
		reply := r.join("/", nil)
		require.Equal(t, parser.ConnectError, reply.Type, "got %v", reply.Type)
	})
}
