package ferry_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// ackOutcome is what an EmitWithAckFunc callback received.
type ackOutcome struct {
	reply ferry.Args
	err   error
}

// TestEmitWithAckFuncFromHandler checks that a handler may ask its own
// client for an ack with EmitWithAckFunc and return: the callback runs
// when the ack is read, on the read goroutine, with the client's answer.
// EmitWithAck there would wait forever.
func TestEmitWithAckFuncFromHandler(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("order", func(e *ferry.Event) {
				var item string
				e.Decode(&item)
				err := s.EmitWithAckFunc(context.Background(), "confirm", []any{item}, func(reply ferry.Args, err error) {
					if err != nil {
						s.Emit("result", "error: "+err.Error())
						return
					}
					var answer string
					reply.Decode(&answer)
					s.Emit("result", item+": "+answer)
				})
				if err != nil {
					s.Emit("result", "not sent: "+err.Error())
				}
			})
		})
		cs := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("confirm", func(e *client.Event) {
				var item string
				e.Decode(&item)
				e.Ack("yes to " + item)
			})
		})
		results := events(cs, "result")
		require.NoError(t, cs.Emit("order", "tea"))
		require.Equal(t, "tea: yes to tea", arg[string](t, recv(t, results), 0))
		require.NoError(t, cs.Emit("order", "cake"))
		require.Equal(t, "cake: yes to cake", arg[string](t, recv(t, results), 0))
	})
}

// TestEmitWithAckFuncOutcomes checks each way the callback's wait ends,
// once each: the deadline of a Timeout, ctx cancelled, the socket
// disconnecting; and the errors returned without a callback.
func TestEmitWithAckFuncOutcomes(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		cs := ts.connect(t, "/", nil) // never acks
		s := recv(t, joined)
		outcome := make(chan ackOutcome, 8)
		var calls atomic.Int32
		f := func(reply ferry.Args, err error) {
			calls.Add(1)
			outcome <- ackOutcome{reply, err}
		}

		require.NoError(t, s.Timeout(20*time.Millisecond).EmitWithAckFunc(context.Background(), "q", nil, f))
		got := recv(t, outcome)
		require.ErrorIs(t, got.err, context.DeadlineExceeded)
		require.EqualError(t, got.err, `ferry: waiting for ack of "q": context deadline exceeded`)

		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, s.EmitWithAckFunc(ctx, "q", []any{1}, f))
		cancel()
		require.ErrorIs(t, recv(t, outcome).err, context.Canceled)

		require.NoError(t, s.EmitWithAckFunc(context.Background(), "q", nil, f))
		cs.Disconnect()
		require.ErrorIs(t, recv(t, outcome).err, ferry.ErrDisconnected)

		// No callback for what cannot be sent.
		require.ErrorIs(t, s.EmitWithAckFunc(context.Background(), "disconnect", nil, f), ferry.ErrReservedEvent)
		require.ErrorIs(t, s.EmitWithAckFunc(context.Background(), "q", nil, f), ferry.ErrDisconnected)
		require.EqualValues(t, 3, calls.Load())
		require.Empty(t, outcome)
	})
}

// TestEmitWithAckFuncOnce checks that a callback runs once when its ack
// and its deadline come together: many acks racing a deadline set to the
// time they take.
func TestEmitWithAckFuncOnce(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("q", func(e *client.Event) { e.Ack() })
		})
		s := recv(t, joined)
		const n = 200
		var calls atomic.Int32
		done := make(chan struct{}, n)
		for i := range n {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%20)*100*time.Microsecond)
			defer cancel()
			require.NoError(t, s.EmitWithAckFunc(ctx, "q", nil, func(ferry.Args, error) {
				calls.Add(1)
				done <- struct{}{}
			}))
		}
		for range n {
			recv(t, done)
		}
		// Any second call would have come with the first ones' peers: the
		// acks are all in by now, and the deadlines all past.
		_, err := s.Timeout(within).EmitWithAck(bounded(t), "q")
		require.NoError(t, err)
		require.EqualValues(t, n, calls.Load())
	})
}

// TestEmitWithAckFuncNoGoroutine checks that callbacks waiting for acks
// hold no goroutine, with or without a deadline.
func TestEmitWithAckFuncNoGoroutine(t *testing.T) {
	ts := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}.serve(t, nil)
	joined := sockets(ts.Of("/"))
	ts.connect(t, "/", nil) // never acks
	s := recv(t, joined)
	before := runtime.NumGoroutine()
	const n = 500
	for i := range n {
		if i%2 == 0 {
			require.NoError(t, s.EmitWithAckFunc(context.Background(), "q", nil, func(ferry.Args, error) {}))
		} else {
			require.NoError(t, s.Timeout(time.Hour).EmitWithAckFunc(context.Background(), "q", nil, func(ferry.Args, error) {}))
		}
	}
	require.Less(t, runtime.NumGoroutine()-before, 10, "%d callbacks waiting", n)
}

// TestBroadcastEmitWithAckFunc checks the callback form of a broadcast's
// acks: all of them, those in by the deadline with its error, none at once
// when no socket is selected; and on a RemoteSocket.
func TestBroadcastEmitWithAckFunc(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		// After acking, a client says so: once the server has read that,
		// it has read the ack.
		acked := make(chan struct{}, 16)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("acked", func(*ferry.Event) { acked <- struct{}{} })
		})
		for range 2 {
			ts.connect(t, "/", nil, func(cs *client.Socket) {
				cs.On("q", func(e *client.Event) {
					e.Ack("yes")
					cs.Emit("acked")
				})
			})
		}
		recv(t, joined)
		acking := recv(t, joined)
		acking.Join("silent")
		ts.connect(t, "/", nil) // never acks
		recv(t, joined).Join("silent")

		type acksOutcome struct {
			acks []ferry.Args
			err  error
		}
		outcome := make(chan acksOutcome, 4)
		f := func(acks []ferry.Args, err error) { outcome <- acksOutcome{acks, err} }

		require.NoError(t, ts.Except("silent").EmitWithAckFunc(context.Background(), "q", nil, f))
		got := recv(t, outcome)
		require.NoError(t, got.err)
		require.Len(t, got.acks, 1)
		recv(t, acked)

		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, ts.EmitWithAckFunc(ctx, "q", nil, f))
		recv(t, acked)
		recv(t, acked)
		require.Empty(t, outcome, "complete while a socket has not acked")
		cancel()
		got = recv(t, outcome)
		require.ErrorIs(t, got.err, context.Canceled)
		require.EqualError(t, got.err, `ferry: acks for "q": 2 of 3 acks: context canceled`)
		require.Len(t, got.acks, 2, "the acks in by the deadline")

		require.NoError(t, ts.To("nobody").EmitWithAckFunc(context.Background(), "q", nil, f))
		select {
		case got = <-outcome: // before EmitWithAckFunc returned
		default:
			t.Fatal("a broadcast that reaches no socket did not complete at once")
		}
		require.NoError(t, got.err)
		require.Empty(t, got.acks)
		require.ErrorIs(t, ts.Local().EmitWithAckFunc(context.Background(), "connect", nil, f), ferry.ErrReservedEvent)

		// RemoteSocket: its ack, or the deadline of its Timeout.
		remotes, err := ts.Except("silent").FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Len(t, remotes, 1)
		one := make(chan ackOutcome, 2)
		oneF := func(reply ferry.Args, err error) { one <- ackOutcome{reply, err} }
		require.NoError(t, remotes[0].EmitWithAckFunc(context.Background(), "q", nil, oneF))
		r := recv(t, one)
		require.NoError(t, r.err)
		require.Equal(t, "yes", decodeRaw[string](t, r.reply[0]))

		quiet, err := ts.In("silent").Except(acking.ID()).FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Len(t, quiet, 1)
		_, err = quiet[0].Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "q")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, quiet[0].Timeout(20*time.Millisecond).EmitWithAckFunc(context.Background(), "q", nil, oneF))
		require.ErrorIs(t, recv(t, one).err, context.DeadlineExceeded)
	})
}
