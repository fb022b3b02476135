package ferry_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// outgoing records what OnAnyOutgoing handlers see, as "event args".
type outgoing chan string

func (o outgoing) handler(tag string) func(string, []any) {
	return func(event string, args []any) { o <- fmt.Sprintf("%s%s %v", tag, event, args) }
}

// TestOnAnyOutgoing checks that OnAnyOutgoing handlers see every event the
// socket is sent, as socket.io's do: emits with and without ack, volatile
// ones, broadcasts from this server with and without acks; not acks to the
// client's events, nor what other sockets are sent. PrependAnyOutgoing
// runs first; the removal function and OffAnyOutgoing stop them.
func TestOnAnyOutgoing(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		cs := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("asked", func(e *client.Event) { e.Ack("yes") })
		})
		s := recv(t, joined)
		other := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("asked", func(e *client.Event) { e.Ack("yes") })
		})
		s.On("ack-me", func(e *ferry.Event) { e.Ack("acked") })

		seen := make(outgoing, 64)
		off := s.OnAnyOutgoing(seen.handler("b:"))
		s.PrependAnyOutgoing(seen.handler("a:"))
		require.Len(t, s.ListenersAnyOutgoing(), 2)
		both := func(event string, args ...any) {
			t.Helper()
			want := fmt.Sprintf("%s %v", event, args)
			require.Equal(t, "a:"+want, recv(t, seen))
			require.Equal(t, "b:"+want, recv(t, seen))
		}

		require.NoError(t, s.Emit("direct", 1, "two"))
		both("direct", 1, "two")
		require.NoError(t, s.Volatile().Emit("volatile", 3))
		both("volatile", 3)
		_, err := s.EmitWithAck(bounded(t), "asked", 4)
		require.NoError(t, err)
		both("asked", 4)
		require.NoError(t, ts.Emit("everyone", 5))
		both("everyone", 5)
		_, err = ts.EmitWithAck(bounded(t), "asked", 6)
		require.NoError(t, err)
		both("asked", 6)
		require.NoError(t, ts.To(ts.socket(t, other).ID()).Emit("not-mine"))
		_, err = cs.EmitWithAck(bounded(t), "ack-me") // an ack to the client is not an event
		require.NoError(t, err)

		off()
		require.NoError(t, s.Emit("after-off"))
		require.Equal(t, "a:after-off []", recv(t, seen))
		s.OffAnyOutgoing()
		require.Empty(t, s.ListenersAnyOutgoing())
		require.NoError(t, s.Emit("after-all-off"))
		require.NoError(t, ts.Emit("after-all-off"))
		require.Empty(t, seen, "left: %v", len(seen))
	})
}

// TestOnAnyOutgoingRecovery checks that with connection state recovery on,
// where an emit to one socket goes through the adapter to its room, the
// handlers see the event once, with its offset last, as socket.io's do.
func TestOnAnyOutgoingRecovery(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, &ferry.Options{ConnectionStateRecovery: &ferry.RecoveryOptions{}})
		joined := sockets(ts.Of("/"))
		cs := ts.connect(t, "/", nil)
		direct := events(cs, "direct")
		s := recv(t, joined)
		type sent struct {
			event string
			args  []any
		}
		seen := make(chan sent, 8)
		s.OnAnyOutgoing(func(event string, args []any) { seen <- sent{event, args} })

		require.NoError(t, s.Emit("direct", "x"))
		e := recv(t, direct)
		offset := arg[string](t, e, 1)
		require.NotEmpty(t, offset)
		got := recv(t, seen)
		require.Equal(t, sent{"direct", []any{"x", offset}}, got)
		require.NoError(t, s.Emit("marker"))
		require.Equal(t, "marker", recv(t, seen).event, "the event was seen once")
	})
}

// TestOnAnyOutgoingPanic checks that a panic in an OnAnyOutgoing handler
// reached by a broadcast ends that socket's connection only, and the
// broadcast goes on to the others.
func TestOnAnyOutgoingPanic(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		bad := ts.connect(t, "/", nil)
		badGone := clientReasons(bad)
		recv(t, joined).OnAnyOutgoing(func(string, []any) { panic("outgoing handler") })
		good := ts.connect(t, "/", nil)
		news := events(good, "news")
		recv(t, joined)

		require.NoError(t, ts.Emit("news", 1))
		require.Equal(t, 1, arg[int](t, recv(t, news), 0))
		require.NotEqual(t, client.ReasonServerDisconnect, recv(t, badGone), "the connection is closed, not the socket")
		require.NoError(t, ts.Emit("news", 2))
		require.Equal(t, 2, arg[int](t, recv(t, news), 0))
		require.True(t, good.Connected())
	})
}
