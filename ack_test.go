package ferry_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// The fixes of the broadcast-ack defects: each test failed before them.

func TestDynamicBroadcastAckEmptyChildFirst(t *testing.T) {
	// A dynamic parent whose children mostly match nobody: the broadcast
	// waits for the one target's ack, whichever child reports first.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		parent := ts.OfRegexp(regexp.MustCompile(`^/game-\d$`))
		for i := range 5 {
			ts.connect(t, fmt.Sprintf("/game-%d", i), nil)
		}
		target := ts.connect(t, "/game-9", nil, func(cs *client.Socket) {
			cs.On("where", func(e *client.Event) { e.Ack(cs.Namespace()) })
		})
		ts.socket(t, target).Join("x")
		acks, err := parent.To("x").EmitWithAck(bounded(t), "where")
		require.NoError(t, err)
		require.Len(t, acks, 1, "returned before the one target acked")
		require.Equal(t, "/game-9", decodeRaw[string](t, acks[0][0]))
	})
}

func TestBroadcastAckSubtractsDisconnected(t *testing.T) {
	// A target that disconnects before it acks is not waited for: with a
	// context without deadline, the call returns the others' acks.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		asked := make(chan struct{})
		ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("q", func(e *client.Event) { e.Ack("answer") })
		})
		recv(t, joined)
		leaving := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("q", func(*client.Event) { close(asked) })
		})
		sLeaving := recv(t, joined)
		go func() {
			<-asked
			sLeaving.Disconnect(false) // before it acks
		}()
		done := make(chan struct{})
		var acks []ferry.Args
		var err error
		go func() {
			defer close(done)
			acks, err = ts.Of("/").EmitWithAck(context.Background(), "q")
		}()
		recv(t, done)
		require.NoError(t, err)
		require.Len(t, acks, 1)
		require.Equal(t, "answer", decodeRaw[string](t, acks[0][0]))
		_ = leaving
	})
}

func TestSocketAckFailsOnDisconnect(t *testing.T) {
	// The single-socket call returns ErrDisconnected, at once, when its
	// socket disconnects first.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		asked := make(chan struct{})
		ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("q", func(*client.Event) { close(asked) })
		})
		s := recv(t, joined)
		go func() {
			<-asked
			s.Disconnect(false)
		}()
		_, err := s.EmitWithAck(context.Background(), "q")
		require.ErrorIs(t, err, ferry.ErrDisconnected)
	})
}

func TestVolatileAckOfDroppedPacket(t *testing.T) {
	// A volatile event that was dropped (the client is behind) gets no
	// ack: the single-socket call says so at once, and a broadcast does not
	// count that socket.
	m := mode{name: "polling", transports: []string{"polling"}, codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	joined := sockets(ts.Of("/"))
	r := ts.dialRaw(t, "polling") // stops polling once joined
	r.join("/", nil)
	s := recv(t, joined)
	require.NoError(t, s.Emit("backlog", 1)) // the client is now behind

	_, err := s.Volatile().EmitWithAck(context.Background(), "q")
	require.ErrorIs(t, err, ferry.ErrDropped)

	acks, err := ts.Of("/").Volatile().EmitWithAck(context.Background(), "q")
	require.NoError(t, err)
	require.Empty(t, acks)
	require.NoError(t, s.Volatile().Emit("q"), "a dropped volatile Emit is not an error")
}

func TestBroadcastAckTimeoutReportsMissing(t *testing.T) {
	// At the deadline, the acks that came are returned with an error that
	// says how many are missing.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("q", func(e *client.Event) { e.Ack("answer") })
		})
		ts.connect(t, "/", nil) // never answers
		acks, err := ts.Of("/").Timeout(100*time.Millisecond).EmitWithAck(context.Background(), "q")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Len(t, acks, 1)
		require.Contains(t, err.Error(), "1 of 2 acks")
	})
}

func TestServerSideEmitOneServer(t *testing.T) {
	// With one server, a server-side emit reaches no one, and an ack
	// request returns at once with no acks; the server counts itself, and
	// the rooms are this server's.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	heard := make(chan struct{}, 1)
	ts.Of("/").OnServerSideEmit("hello", func(*ferry.Event) { heard <- struct{}{} })
	require.NoError(t, ts.Of("/").ServerSideEmit(bounded(t), "hello", 1))
	acks, err := ts.Of("/").ServerSideEmitWithAck(bounded(t), "hello")
	require.NoError(t, err)
	require.Empty(t, acks)
	select {
	case <-heard:
		t.Fatal("a server-side emit reached this server's own handler")
	default:
	}
	n, err := ts.Of("/").ServerCount(bounded(t))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	cs := ts.connect(t, "/", nil)
	ts.socket(t, cs).Join("lobby")
	rooms, err := ts.Of("/").Rooms(bounded(t))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{cs.ID(), "lobby"}, rooms)
}

func TestReceiveServerSideEmit(t *testing.T) {
	// What a cluster adapter hands the namespace reaches its handlers, and
	// the first handler's ack goes back through the adapter's callback.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	nsp := ts.Of("/")
	got := make(chan int, 1)
	nsp.OnServerSideEmit("sum", func(e *ferry.Event) {
		var a, b int
		require.NoError(t, e.Decode(&a, &b))
		require.Nil(t, e.Socket())
		require.True(t, e.WantsAck())
		require.NoError(t, e.Ack(a+b))
		require.ErrorIs(t, e.Ack(0), ferry.ErrAlreadyAcked)
		got <- a + b
	})
	args := rawArgs(t, "sum", 2, 3)
	acked := make(chan []any, 1)
	require.NoError(t, nsp.ReceiveServerSideEmit(args, func(a []any) { acked <- a }))
	require.Equal(t, 5, recv(t, got))
	require.Equal(t, []any{5}, recv(t, acked))
	require.Error(t, nsp.ReceiveServerSideEmit(nil, nil), "an event without a name")
}

// rawArgs encodes values as a cluster adapter receives them from another
// server.
func rawArgs(t testing.TB, values ...any) ferry.Args {
	t.Helper()
	var out ferry.Args
	for _, v := range values {
		b, err := parser.MarshalMsgpack(v)
		require.NoError(t, err)
		r, err := parser.MsgpackRaw(b, parser.Limits{})
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}
