package ferry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// The server side of these tests answers "marker" with a "marker" event:
// the client's events are handled in order, and the server's events reach
// the client's handlers in order, so what the client received before the
// marker is all that its earlier events caused.

// inOrder returns a channel receiving every event cs gets, in order.
// Register it before the events can arrive.
func inOrder(cs *client.Socket) <-chan *client.Event {
	ch := make(chan *client.Event, 4096)
	cs.OnAny(func(e *client.Event) { ch <- e })
	return ch
}

// untilMarker emits "marker" on cs and returns what ch received before the
// server's answer, each event as its name and its first argument, if a
// string.
func untilMarker(t *testing.T, cs *client.Socket, ch <-chan *client.Event) []string {
	t.Helper()
	require.NoError(t, cs.Emit("marker"))
	var got []string
	for {
		e := recv(t, ch)
		if e.Name == "marker" {
			return got
		}
		var first string
		if len(e.Args) > 0 {
			e.Args[0].Decode(&first)
		}
		got = append(got, strings.TrimSuffix(e.Name+" "+first, " "))
	}
}

// rawOf returns v as an encoded value, as a client's argument is.
func rawOf(t *testing.T, v any) parser.Raw {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	r, err := parser.JSONRaw(b, parser.Limits{})
	require.NoError(t, err)
	return r
}

// markedSocket serves m, connects a client to the main namespace whose
// socket answers "marker", and returns the server's socket, the client's,
// and the client's events in order (for untilMarker).
func markedSocket(t *testing.T, m mode) (*ferry.Socket, *client.Socket, <-chan *client.Event) {
	t.Helper()
	ts := m.serve(t, nil)
	joined := sockets(ts.Of("/"))
	ts.OnConnection(answerMarker)
	cs := ts.connect(t, "/", nil)
	got := inOrder(cs)
	return recv(t, joined), cs, got
}

// answerMarker makes s answer "marker" (see untilMarker).
func answerMarker(s *ferry.Socket) {
	s.On("marker", func(*ferry.Event) { s.Emit("marker") })
}

// TestOnOff checks that the function On returns removes that handler only,
// from the next event on, and that Off removes every handler of an event;
// Listeners and ListenerCount follow.
func TestOnOff(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s, cs, got := markedSocket(t, m)

		offA := s.On("count", func(*ferry.Event) { s.Emit("counted", "a") })
		s.On("count", func(*ferry.Event) { s.Emit("counted", "b") })
		var offSelf func()
		offSelf = s.On("count", func(*ferry.Event) {
			s.Emit("counted", "self")
			offSelf() // removes itself: this run goes on, the next event does not see it
		})
		require.Equal(t, 3, s.ListenerCount("count"))
		require.Len(t, s.Listeners("count"), 3)
		require.Zero(t, s.ListenerCount("other"))

		require.NoError(t, cs.Emit("count"))
		require.Equal(t, []string{"counted a", "counted b", "counted self"}, untilMarker(t, cs, got))
		require.Equal(t, 2, s.ListenerCount("count"))

		offA()
		offA() // again: nothing
		require.Equal(t, 1, s.ListenerCount("count"))
		require.NoError(t, cs.Emit("count"))
		require.Equal(t, []string{"counted b"}, untilMarker(t, cs, got))

		s.On("count", func(*ferry.Event) { s.Emit("counted", "c") })
		s.Off("count")
		require.Zero(t, s.ListenerCount("count"))
		require.Nil(t, s.Listeners("count"))
		require.Equal(t, 1, s.ListenerCount("marker"), "Off leaves other events alone")
		require.NoError(t, cs.Emit("count"))
		require.Empty(t, untilMarker(t, cs, got))
	})
}

// TestOnOffDuringDispatch checks that a handler removing a later handler of
// the same event does not stop it for the event being dispatched (as in
// Node's EventEmitter), only for the next.
func TestOnOffDuringDispatch(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s, cs, got := markedSocket(t, m)

		var offLater func()
		s.On("x", func(*ferry.Event) { s.Emit("ran", "first"); offLater() })
		offLater = s.On("x", func(*ferry.Event) { s.Emit("ran", "later") })
		require.NoError(t, cs.Emit("x"))
		require.Equal(t, []string{"ran first", "ran later"}, untilMarker(t, cs, got))
		require.NoError(t, cs.Emit("x"))
		require.Equal(t, []string{"ran first"}, untilMarker(t, cs, got))
	})
}

// TestOnce checks that a Once handler runs for the first such event only,
// in its place among the event's handlers, and that removing it before
// that stops it.
func TestOnce(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s, cs, got := markedSocket(t, m)

		s.On("greet", func(*ferry.Event) { s.Emit("greeted", "always") })
		s.Once("greet", func(e *ferry.Event) {
			var name string
			e.Decode(&name)
			s.Emit("greeted", "once "+name)
		})
		offNever := s.Once("greet", func(*ferry.Event) { s.Emit("greeted", "never") })
		offNever()
		require.Equal(t, 2, s.ListenerCount("greet"))

		require.NoError(t, cs.Emit("greet", "ann"))
		require.NoError(t, cs.Emit("greet", "bob"))
		require.Equal(t, []string{"greeted always", "greeted once ann", "greeted always"}, untilMarker(t, cs, got))
		require.Equal(t, 1, s.ListenerCount("greet"), "a Once handler is removed as it runs")
	})
}

// TestOnAny checks OnAny's order with PrependAny, its removal function and
// OffAny, and ListenersAny.
func TestOnAny(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		s, cs, got := markedSocket(t, m)

		any := func(tag string) func(*ferry.Event) {
			return func(e *ferry.Event) {
				if e.Name != "marker" {
					s.Emit("any", tag+":"+e.Name)
				}
			}
		}
		offA := s.OnAny(any("a"))
		s.OnAny(any("b"))
		s.PrependAny(any("first"))
		s.On("x", func(*ferry.Event) { s.Emit("handler") })
		require.Len(t, s.ListenersAny(), 3)

		require.NoError(t, cs.Emit("x"))
		require.Equal(t, []string{"any first:x", "any a:x", "any b:x", "handler"}, untilMarker(t, cs, got))

		offA()
		require.NoError(t, cs.Emit("x"))
		require.Equal(t, []string{"any first:x", "any b:x", "handler"}, untilMarker(t, cs, got))

		s.OffAny()
		require.Empty(t, s.ListenersAny())
		require.NoError(t, cs.Emit("x"))
		require.Equal(t, []string{"handler"}, untilMarker(t, cs, got))
	})
}

// TestSocketUse checks packet middleware as socket.io's socket.use: it runs
// in order after OnAny and before the handlers; it may rewrite the event;
// an error refuses the event (no handler, no ack, the next middleware
// skipped) and goes to the OnError handlers, the client hearing nothing; a
// middleware may ack the event itself.
func TestSocketUse(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		errForbidden := errors.New("forbidden event")
		refused := make(chan error, 8)
		var third atomic.Int32
		ts.OnConnection(func(s *ferry.Socket) {
			answerMarker(s)
			s.OnAny(func(e *ferry.Event) {
				if e.Name != "marker" {
					s.Emit("any", e.Name)
				}
			})
			s.Use(func(e *ferry.Event) error {
				if e.Name == "shout" { // rewrites the event
					var text string
					e.Decode(&text)
					e.Name, e.Args = "say", ferry.Args{rawOf(t, strings.ToUpper(text))}
				}
				return nil
			})
			s.Use(func(e *ferry.Event) error {
				switch e.Name {
				case "secret":
					return fmt.Errorf("%w: %s", errForbidden, e.Name)
				case "ask-secret":
					e.Ack(map[string]string{"error": "not allowed"})
					return errForbidden
				}
				return nil
			})
			s.Use(func(e *ferry.Event) error { third.Add(1); return nil })
			s.OnError(func(s *ferry.Socket, err error) { refused <- err })
			for _, name := range []string{"say", "secret", "ask-secret"} {
				s.On(name, func(e *ferry.Event) {
					var text string
					e.Decode(&text)
					s.Emit("handled", name+" "+text)
					e.Ack("handled")
				})
			}
		})
		cs := ts.connect(t, "/", nil)
		got := inOrder(cs)

		require.NoError(t, cs.Emit("shout", "hi"))
		require.Equal(t, []string{"any shout", "handled say HI"}, untilMarker(t, cs, got))
		require.EqualValues(t, 2, third.Load(), "say, and marker")

		// A refused event: OnAny saw it (as in socket.io), no handler ran,
		// the next middleware neither, and no ack came before the marker.
		ackCtx, cancelAck := context.WithCancel(bounded(t))
		acked := make(chan error, 1)
		go func() {
			_, err := cs.EmitWithAck(ackCtx, "secret", "x")
			acked <- err
		}()
		err := recv(t, refused) // sent, and refused
		require.ErrorIs(t, err, errForbidden)
		require.EqualError(t, err, "forbidden event: secret")
		require.Equal(t, []string{"any secret"}, untilMarker(t, cs, got))
		cancelAck()
		require.ErrorIs(t, recv(t, acked), context.Canceled, "a refused event is not acked")
		require.EqualValues(t, 3, third.Load(), "only marker went through since")

		// A middleware that answers the event's ack itself.
		reply, err := cs.EmitWithAck(bounded(t), "ask-secret")
		require.NoError(t, err)
		require.Equal(t, map[string]string{"error": "not allowed"}, decodeRaw[map[string]string](t, reply[0]))
		require.ErrorIs(t, recv(t, refused), errForbidden)
		require.Equal(t, []string{"any ask-secret"}, untilMarker(t, cs, got))
	})
}

// TestSocketUseDisconnects checks that the handlers of an event do not run
// when its middleware disconnected the socket, and that with no OnError
// handler a refusal is logged at debug level.
func TestSocketUseDisconnects(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		logs := &logRecorder{level: slog.LevelDebug}
		ts := m.serve(t, &ferry.Options{Logger: slog.New(logs)})
		ran := make(chan string, 4)
		ts.OnConnection(func(s *ferry.Socket) {
			s.Use(func(e *ferry.Event) error {
				switch e.Name {
				case "bye":
					s.Disconnect(false)
				case "nope":
					return errors.New("nope refused")
				}
				return nil
			})
			s.On("bye", func(*ferry.Event) { ran <- "bye" })
		})
		other := ts.Of("/other")
		other.OnConnection(func(s *ferry.Socket) {
			s.On("ping", func(e *ferry.Event) { e.Ack() })
		})
		c := ts.dial(t, nil)
		cs := c.Socket("/", nil)
		require.NoError(t, cs.Connect(bounded(t)))
		cso := c.Socket("/other", nil)
		require.NoError(t, cso.Connect(bounded(t)))
		gone := clientReasons(cs)

		require.NoError(t, cs.Emit("nope"))
		require.NoError(t, cs.Emit("bye"))
		// The connection's packets are handled in order: once "/other"
		// acks, "bye" has been dispatched.
		_, err := cso.EmitWithAck(bounded(t), "ping")
		require.NoError(t, err)
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone))
		require.Empty(t, ran, "the handler ran on a socket its middleware disconnected")

		var found bool
		for _, r := range logs.at(slog.LevelDebug) {
			if r.Message == "event refused by middleware" {
				found = true
			}
		}
		require.True(t, found, "a refusal nobody handles is logged at debug level")
	})
}

// TestRemoveHandlers checks the removal functions of OnConnection,
// OnDisconnecting, OnDisconnect, OnError, Handle and HandleAck, and
// RemoveAllListeners, which removes every handler but OnAny's.
func TestRemoveHandlers(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ran := make(chan string, 64)
		note := func(what string) { ran <- what }
		offConn := ts.OnConnection(func(*ferry.Socket) { note("connection removed") })
		joined := sockets(ts.Of("/"))
		offConn()

		cs := ts.connect(t, "/", nil)
		got := inOrder(cs)
		s := recv(t, joined)
		answerMarker(s)
		s.OnDisconnecting(func(*ferry.Socket, ferry.DisconnectReason) { note("disconnecting") })
		offDisconnecting := s.OnDisconnecting(func(*ferry.Socket, ferry.DisconnectReason) { note("disconnecting removed") })
		offDisconnect := s.OnDisconnect(func(*ferry.Socket, ferry.DisconnectReason) { note("disconnect removed") })
		s.OnDisconnect(func(*ferry.Socket, ferry.DisconnectReason) { note("disconnect") })
		offDisconnecting()
		offDisconnect()
		offHandle := ferry.Handle(s, "typed", func(s *ferry.Socket, v int) error { return s.Emit("typed", v) })
		offHandleAck := ferry.HandleAck(s, "typed-ack", func(s *ferry.Socket, v int) (int, error) { return v, nil })
		s.Use(func(e *ferry.Event) error {
			if e.Name == "refused" {
				return errors.New("refused")
			}
			return nil
		})
		offErr := s.OnError(func(*ferry.Socket, error) { note("error removed") })
		s.OnError(func(*ferry.Socket, error) { s.Emit("error-seen") })
		offErr()

		require.NoError(t, cs.Emit("typed", 7))
		require.NoError(t, cs.Emit("refused"))
		require.Equal(t, []string{"typed", "error-seen"}, untilMarker(t, cs, got))
		_, err := cs.EmitWithAck(bounded(t), "typed-ack", 8)
		require.NoError(t, err)
		offHandle()
		offHandleAck()
		require.Zero(t, s.ListenerCount("typed")+s.ListenerCount("typed-ack"))

		// RemoveAllListeners: event, error and disconnect handlers go; OnAny
		// and middleware stay.
		s.OnAny(func(e *ferry.Event) {
			if e.Name == "x" {
				s.Emit("any")
			}
		})
		s.On("x", func(*ferry.Event) { s.Emit("handler") })
		s.RemoveAllListeners()
		answerMarker(s)
		require.NoError(t, cs.Emit("x"))
		require.NoError(t, cs.Emit("refused"))
		require.Equal(t, []string{"any"}, untilMarker(t, cs, got))
		s.OnDisconnect(func(*ferry.Socket, ferry.DisconnectReason) { note("disconnect after") })
		cs.Disconnect()
		require.Equal(t, "disconnect after", recv(t, ran))
		require.Empty(t, ran, "a removed handler ran")
	})
}

// TestServerSideHandlers checks OnServerSideEmit's removal function,
// OffServerSideEmit, ServerSideListeners and ServerSideListenerCount, with
// events delivered as a cluster adapter delivers them.
func TestServerSideHandlers(t *testing.T) {
	ts := mode{name: "websocket", transports: []string{"websocket"}, codec: defaultCodec()}.serve(t, nil)
	nsp := ts.Of("/")
	var ran []string
	off := ts.OnServerSideEmit("hello", func(*ferry.Event) { ran = append(ran, "a") })
	nsp.OnServerSideEmit("hello", func(*ferry.Event) { ran = append(ran, "b") })
	nsp.OnServerSideEmit("other", func(*ferry.Event) { ran = append(ran, "other") })
	require.Equal(t, 2, nsp.ServerSideListenerCount("hello"))
	require.Len(t, nsp.ServerSideListeners("hello"), 2)

	hello := ferry.Args{rawOf(t, "hello")}
	require.NoError(t, nsp.ReceiveServerSideEmit(hello, nil))
	require.Equal(t, []string{"a", "b"}, ran)
	off()
	ran = nil
	require.NoError(t, nsp.ReceiveServerSideEmit(hello, nil))
	require.Equal(t, []string{"b"}, ran)
	nsp.OffServerSideEmit("hello")
	ran = nil
	require.NoError(t, nsp.ReceiveServerSideEmit(hello, nil))
	require.Empty(t, ran)
	require.Zero(t, nsp.ServerSideListenerCount("hello"))
	require.Equal(t, 1, nsp.ServerSideListenerCount("other"))
}
