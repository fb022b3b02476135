package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

func TestSocketState(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		opts := ts.clientOptions()
		opts.Header = http.Header{"X-Test": {"header-value"}}
		opts.Query = url.Values{"room": {"lobby"}}
		before := time.Now()
		c, err := client.Dial(bounded(t), ts.URL+"/?from=url", opts)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		type auth struct {
			User string `json:"user"`
		}
		cs := c.Socket("/", &client.SocketOptions{Auth: auth{User: "ann"}})
		require.NoError(t, cs.Connect(bounded(t)))
		s := recv(t, joined)

		require.Equal(t, cs.ID(), s.ID())
		require.NotEqual(t, s.Conn().ID(), s.ID())
		require.True(t, s.Connected())
		require.NoError(t, s.Context().Err())

		hs := s.Handshake()
		require.Equal(t, "header-value", hs.Header.Get("X-Test"))
		require.Equal(t, "lobby", hs.Query.Get("room"))
		require.Equal(t, "url", hs.Query.Get("from"))
		require.Equal(t, "4", hs.Query.Get("EIO"))
		require.Equal(t, "127.0.0.1", hs.Address, "the address has no port")
		require.Contains(t, hs.URL, "/socket.io/")
		require.False(t, hs.Secure)
		require.False(t, hs.Time.Before(before.Add(-time.Second)), "handshake time %v is before the dial at %v", hs.Time, before)
		var a auth
		require.NoError(t, hs.DecodeAuth(&a))
		require.Equal(t, "ann", a.User)
		if m.name == "websocket" {
			require.Equal(t, "websocket", s.Transport())
		}
		m.upgraded(t, s)

		// Rooms: its own, plus those joined.
		require.Equal(t, []string{s.ID()}, s.Rooms())
		s.Join("b", "a")
		s.Join("a")
		require.ElementsMatch(t, []string{s.ID(), "a", "b"}, s.Rooms())
		s.Leave("b")
		s.Leave("never-joined")
		require.ElementsMatch(t, []string{s.ID(), "a"}, s.Rooms())

		// Data.
		require.Nil(t, s.Data())
		s.SetData(map[string]int{"score": 3})
		require.Equal(t, map[string]int{"score": 3}, s.Data())

		// After the client leaves: no rooms, context cancelled, not found.
		gone := make(reasons, 1)
		gone.watch(s)
		cs.Disconnect()
		require.Equal(t, "client namespace disconnect", recv(t, gone))
		require.False(t, s.Connected())
		require.ErrorIs(t, s.Context().Err(), context.Canceled)
		require.Empty(t, s.Rooms())
		s.Join("late")
		require.Empty(t, s.Rooms(), "a disconnected socket joins nothing")
		require.Nil(t, ts.Of("/").Socket(s.ID()))
		require.ErrorIs(t, s.Emit("x"), ferry.ErrDisconnected)
		_, err = s.EmitWithAck(bounded(t), "x")
		require.ErrorIs(t, err, ferry.ErrDisconnected)
		s.Disconnect(false) // a no-op once disconnected
	})
}

// TestContextAfterDisconnect checks the context of a socket that asks for
// it only once disconnected: it is made already cancelled.
func TestContextAfterDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil)
		s := ts.socket(t, cs)
		gone := make(reasons, 1)
		gone.watch(s)
		cs.Disconnect()
		require.Equal(t, "client namespace disconnect", recv(t, gone))
		ctx := s.Context()
		require.ErrorIs(t, ctx.Err(), context.Canceled)
		require.Same(t, ctx, s.Context(), "one context per socket")
	})
}

func TestHandshakeWithoutAuth(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		ts.connect(t, "/", nil)
		s := recv(t, joined)
		v := map[string]any{"untouched": true}
		require.NoError(t, s.Handshake().DecodeAuth(&v))
		require.Equal(t, map[string]any{"untouched": true}, v, "no auth leaves the target unchanged")
	})
}

// payload is a struct sent as an event argument: encoded through its json
// tags by both parsers.
type payload struct {
	Name  string            `json:"name"`
	Count int               `json:"count"`
	Ratio float64           `json:"ratio"`
	OK    bool              `json:"ok"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
	Blob  []byte            `json:"blob"`
	Inner *payload          `json:"inner,omitempty"`
}

var samplePayload = payload{
	Name: "ferry", Count: -42, Ratio: 0.25, OK: true,
	Tags:  []string{"a", "b"},
	Attrs: map[string]string{"k": "v"},
	Blob:  []byte{0, 1, 2, 255},
	Inner: &payload{Name: "inner", Tags: []string{}, Attrs: map[string]string{}, Blob: []byte{9}},
}

// TestEmitValues sends every kind of value both ways and checks it decodes
// to what was sent.
func TestEmitValues(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		type got struct {
			s      string
			i      int64
			u      uint64
			f      float64
			b      bool
			null   any
			nested map[string]any
			list   []any
			st     payload
			bin    []byte
		}
		fromClient := make(chan got, 1)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("values", func(e *ferry.Event) {
				var g got
				if err := e.Decode(&g.s, &g.i, &g.u, &g.f, &g.b, &g.null, &g.nested, &g.list, &g.st, &g.bin); err != nil {
					t.Errorf("decode: %v", err)
				}
				fromClient <- g
			})
			s.On("send-values", func(e *ferry.Event) {
				s.Emit("values", "héllo ✓", -7, uint64(1<<63), 1.5, true, nil,
					map[string]any{"a": []any{true, nil, "x"}, "b": map[string]any{"c": 1}},
					[]any{1, "two", []byte{3}}, samplePayload, []byte("raw bytes"))
			})
		})
		cs := ts.connect(t, "/", nil)
		values := events(cs, "values")

		// Client to server.
		require.NoError(t, cs.Emit("values", "héllo ✓", -7, uint64(1<<63), 1.5, true, nil,
			map[string]any{"a": []any{true, nil, "x"}, "b": map[string]any{"c": 1}},
			[]any{1, "two", []byte{3}}, samplePayload, []byte("raw bytes")))
		g := recv(t, fromClient)
		require.Equal(t, "héllo ✓", g.s)
		require.Equal(t, int64(-7), g.i)
		require.Equal(t, uint64(1<<63), g.u)
		require.Equal(t, 1.5, g.f)
		require.True(t, g.b)
		require.Nil(t, g.null)
		require.Equal(t, "map[a:[true <nil> x] b:map[c:1]]", sprint(g.nested))
		require.Equal(t, "[1 two [3]]", sprint(g.list))
		require.Equal(t, samplePayload, g.st)
		require.Equal(t, []byte("raw bytes"), g.bin)

		// Server to client.
		require.NoError(t, cs.Emit("send-values"))
		e := recv(t, values)
		require.Len(t, e.Args, 10)
		require.Equal(t, "héllo ✓", arg[string](t, e, 0))
		require.Equal(t, int64(-7), arg[int64](t, e, 1))
		require.Equal(t, uint64(1<<63), arg[uint64](t, e, 2))
		require.Equal(t, 1.5, arg[float64](t, e, 3))
		require.True(t, arg[bool](t, e, 4))
		require.Nil(t, arg[any](t, e, 5))
		require.Equal(t, "map[a:[true <nil> x] b:map[c:1]]", sprint(arg[map[string]any](t, e, 6)))
		require.Equal(t, "[1 two [3]]", sprint(arg[[]any](t, e, 7)))
		require.Equal(t, samplePayload, arg[payload](t, e, 8))
		require.Equal(t, []byte("raw bytes"), arg[[]byte](t, e, 9))
	})
}

// TestRelayRawArgs checks that received arguments can be emitted again
// without decoding, to the sender and to others.
func TestRelayRawArgs(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("relay", func(e *ferry.Event) {
				args := make([]any, len(e.Args))
				for i, r := range e.Args {
					args[i] = r
				}
				s.Emit("relayed", args...)
				s.Broadcast().Emit("relayed", args...)
			})
		})
		a := ts.connect(t, "/", nil)
		b := ts.connect(t, "/", nil)
		fromA, fromB := events(a, "relayed"), events(b, "relayed")
		require.NoError(t, a.Emit("relay", samplePayload, []byte{1, 2}, "s"))
		for _, ch := range []<-chan *client.Event{fromA, fromB} {
			e := recv(t, ch)
			require.Equal(t, samplePayload, arg[payload](t, e, 0))
			require.Equal(t, []byte{1, 2}, arg[[]byte](t, e, 1))
			require.Equal(t, "s", arg[string](t, e, 2))
		}
	})
}

func TestEventHandlers(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		seen := make(chan string, 16)
		ts.OnConnection(func(s *ferry.Socket) {
			s.OnAny(func(e *ferry.Event) { seen <- "any:" + e.Name })
			s.On("greet", func(e *ferry.Event) {
				assert.Same(t, s, e.Socket())
				assert.False(t, e.WantsAck())
				var who string
				var n int
				assert.NoError(t, e.Decode(&who, nil))
				assert.NoError(t, e.Args.Decode(nil, &n))
				seen <- "greet1:" + who + ":" + sprint(n)
			})
			s.On("greet", func(e *ferry.Event) {
				var a, b, c string
				err := e.Decode(&a, &b, &c)
				assert.ErrorIs(t, err, ferry.ErrArgCount)
				var wrong int
				err = e.Decode(&wrong)
				assert.Error(t, err, "a string does not decode into an int")
				assert.NotErrorIs(t, err, ferry.ErrArgCount)
				seen <- "greet2"
			})
			s.On("done", func(e *ferry.Event) { close(seen) })
		})
		cs := ts.connect(t, "/", nil)
		require.NoError(t, cs.Emit("greet", "bob", 2))
		require.NoError(t, cs.Emit("unhandled", 1))
		require.NoError(t, cs.Emit("done"))
		var got []string
		for {
			select {
			case s, ok := <-seen:
				if !ok {
					require.Equal(t, []string{"any:greet", "greet1:bob:2", "greet2", "any:unhandled", "any:done"}, got)
					return
				}
				got = append(got, s)
			case <-time.After(within):
				t.Fatalf("timed out; got %v", got)
			}
		}
	})
}

// TestHandlersAddedByHandler checks that handlers added while an event is
// dispatched run from the next event on, in the order added.
func TestHandlersAddedByHandler(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		seen := make(chan string, 16)
		ts.OnConnection(func(s *ferry.Socket) {
			added := false
			s.On("tick", func(e *ferry.Event) {
				seen <- "first"
				if !added {
					added = true
					s.OnAny(func(e *ferry.Event) { seen <- "any" })
					s.On("tick", func(e *ferry.Event) { seen <- "second" })
					s.On("other", func(e *ferry.Event) { seen <- "other" })
				}
			})
			s.On("done", func(e *ferry.Event) { close(seen) })
		})
		cs := ts.connect(t, "/", nil)
		for _, event := range []string{"tick", "tick", "other", "done"} {
			require.NoError(t, cs.Emit(event))
		}
		var got []string
		for {
			select {
			case s, ok := <-seen:
				if !ok {
					require.Equal(t, []string{"first", "any", "first", "second", "any", "other", "any"}, got)
					return
				}
				got = append(got, s)
			case <-time.After(within):
				t.Fatalf("timed out; got %v", got)
			}
		}
	})
}

// TestTypedHandlers covers Handle and HandleAck, with arguments that
// decode and arguments that do not.
func TestTypedHandlers(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		type move struct {
			X int `json:"x"`
			Y int `json:"y"`
		}
		moves := make(chan move, 8)
		ts.OnConnection(func(s *ferry.Socket) {
			ferry.Handle(s, "move", func(s *ferry.Socket, v move) error {
				if v.X < 0 {
					return errors.New("off the board")
				}
				moves <- v
				return nil
			})
			ferry.HandleAck(s, "double", func(s *ferry.Socket, v move) (move, error) {
				if v.X < 0 {
					return move{}, errors.New("off the board")
				}
				return move{X: 2 * v.X, Y: 2 * v.Y}, nil
			})
			ferry.HandleAck(s, "names", func(s *ferry.Socket, n int) ([]string, error) {
				return strings.Split(strings.Repeat("x,", n), ",")[:n], nil
			})
		})
		cs := ts.connect(t, "/", nil)

		// Handle: decoded and handled; acknowledged with no arguments when asked.
		require.NoError(t, cs.Emit("move", move{X: 1, Y: 2}))
		require.Equal(t, move{X: 1, Y: 2}, recv(t, moves))
		reply, err := cs.EmitWithAck(bounded(t), "move", map[string]int{"x": 3, "y": 4})
		require.NoError(t, err)
		require.Empty(t, reply)
		require.Equal(t, move{X: 3, Y: 4}, recv(t, moves))
		// A bad argument, a missing one and a handler error drop the event;
		// the next good one still arrives, so the bad ones were not queued.
		require.NoError(t, cs.Emit("move", "not a move"))
		require.NoError(t, cs.Emit("move"))
		require.NoError(t, cs.Emit("move", move{X: -1}))
		require.NoError(t, cs.Emit("move", move{X: 5}))
		require.Equal(t, move{X: 5}, recv(t, moves))
		short, cancel := context.WithTimeout(bounded(t), 50*time.Millisecond)
		defer cancel()
		_, err = cs.EmitWithAck(short, "move", "not a move")
		require.ErrorIs(t, err, context.DeadlineExceeded, "Handle does not acknowledge a dropped event")

		// HandleAck: the result answers the ack; failures answer {"error": ...}.
		reply, err = cs.EmitWithAck(bounded(t), "double", move{X: 2, Y: 3})
		require.NoError(t, err)
		require.Equal(t, move{X: 4, Y: 6}, decodeRaw[move](t, reply[0]))
		reply, err = cs.EmitWithAck(bounded(t), "names", 3)
		require.NoError(t, err)
		require.Equal(t, []string{"x", "x", "x"}, decodeRaw[[]string](t, reply[0]))
		for _, bad := range [][]any{{"not a move"}, {}, {move{X: -1}}} {
			reply, err = cs.EmitWithAck(bounded(t), "double", bad...)
			require.NoError(t, err)
			failure := decodeRaw[map[string]string](t, reply[0])
			require.NotEmpty(t, failure["error"], "args %v", bad)
		}
		require.Contains(t, decodeRaw[map[string]string](t, reply[0])["error"], "off the board")
	})
}

func TestReservedEvents(t *testing.T) {
	m := mode{name: "websocket", transports: []string{"websocket"}, codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	cs := ts.connect(t, "/", nil)
	s := ts.socket(t, cs)
	all, err := ts.Of("/").FetchSockets(bounded(t))
	require.NoError(t, err)
	require.Len(t, all, 1)
	remote := all[0]
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		ctx := bounded(t)
		require.ErrorIs(t, s.Emit(name), ferry.ErrReservedEvent, name)
		require.ErrorIs(t, s.Volatile().Emit(name), ferry.ErrReservedEvent, name)
		_, err := s.EmitWithAck(ctx, name)
		require.ErrorIs(t, err, ferry.ErrReservedEvent, name)
		require.ErrorIs(t, ts.Emit(name), ferry.ErrReservedEvent, name)
		require.ErrorIs(t, ts.To("room").Emit(name), ferry.ErrReservedEvent, name)
		require.ErrorIs(t, s.Broadcast().Emit(name), ferry.ErrReservedEvent, name)
		require.ErrorIs(t, ts.OfFunc(func(string) bool { return false }).Emit(name), ferry.ErrReservedEvent, name)
		_, err = ts.Of("/").EmitWithAck(ctx, name)
		require.ErrorIs(t, err, ferry.ErrReservedEvent, name)
		require.ErrorIs(t, remote.Emit(name), ferry.ErrReservedEvent, name)
	}
	// Nothing reserved reached the client: the next event is the first.
	got := events(cs, "after")
	require.NoError(t, s.Emit("after"))
	recv(t, got)
	require.True(t, cs.Connected())
}

// TestClientAcks covers acknowledgements the client asks for.
func TestClientAcks(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		results := make(chan error, 8)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("ask", func(e *ferry.Event) {
				assert.True(t, e.WantsAck())
				results <- e.Ack("answer", 42, []byte{7, 8}, map[string]any{"nested": []byte{9}})
				results <- e.Ack("again")
			})
			s.On("tell", func(e *ferry.Event) {
				assert.False(t, e.WantsAck())
				results <- e.Ack("unasked")
			})
			s.On("later", func(e *ferry.Event) {
				go func() { // acknowledged after the handler returned, from elsewhere
					results <- e.Ack("late")
				}()
			})
			s.On("empty", func(e *ferry.Event) { results <- e.Ack() })
		})
		cs := ts.connect(t, "/", nil)

		reply, err := cs.EmitWithAck(bounded(t), "ask")
		require.NoError(t, err)
		require.NoError(t, recv(t, results))
		require.ErrorIs(t, recv(t, results), ferry.ErrAlreadyAcked)
		require.Len(t, reply, 4)
		require.Equal(t, "answer", decodeRaw[string](t, reply[0]))
		require.Equal(t, 42, decodeRaw[int](t, reply[1]))
		require.Equal(t, []byte{7, 8}, decodeRaw[[]byte](t, reply[2]))
		require.Equal(t, map[string][]byte{"nested": {9}}, decodeRaw[map[string][]byte](t, reply[3]))

		require.NoError(t, cs.Emit("tell"))
		require.ErrorIs(t, recv(t, results), ferry.ErrNoAck)

		reply, err = cs.EmitWithAck(bounded(t), "later")
		require.NoError(t, err)
		require.NoError(t, recv(t, results))
		require.Equal(t, "late", decodeRaw[string](t, reply[0]))

		reply, err = cs.EmitWithAck(bounded(t), "empty")
		require.NoError(t, err)
		require.NoError(t, recv(t, results))
		require.Empty(t, reply)

		// The second Ack of "ask" never reached the client: the only
		// answer it got per event id was the first one, and the
		// connection is healthy.
		require.True(t, cs.Connected())
	})
}

// TestServerAcks covers EmitWithAck from the server: answers, timeouts
// and a late answer after the timeout.
func TestServerAcks(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("question", func(e *client.Event) {
				var n int
				assert.NoError(t, e.Decode(&n))
				assert.NoError(t, e.Ack(n+1, []byte("bin")))
				assert.ErrorIs(t, e.Ack(0), client.ErrAckSent)
			})
		})
		s := ts.socket(t, cs)

		reply, err := s.EmitWithAck(bounded(t), "question", 41)
		require.NoError(t, err)
		var n int
		var bin []byte
		require.NoError(t, reply.Decode(&n, &bin))
		require.Equal(t, 42, n)
		require.Equal(t, []byte("bin"), bin)

		reply, err = s.Timeout(within).EmitWithAck(context.Background(), "question", 1)
		require.NoError(t, err)
		require.NoError(t, reply.Decode(&n))
		require.Equal(t, 2, n)

		// A client that answers too late.
		release := make(chan struct{})
		answered := make(chan error, 1)
		cs.On("slow", func(e *client.Event) {
			<-release
			answered <- e.Ack("too late")
		})
		_, err = s.Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "slow")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = s.Volatile().EmitWithAck(ctx, "slow") // queued behind the first on the client
		require.ErrorIs(t, err, context.Canceled)
		close(release)
		require.NoError(t, recv(t, answered))
		require.NoError(t, recv(t, answered))
		// The late answers were ignored, and acks still work.
		reply, err = s.EmitWithAck(bounded(t), "question", 9)
		require.NoError(t, err)
		require.NoError(t, reply.Decode(&n))
		require.Equal(t, 10, n)
	})
}

// TestEmitWithAckDisconnect checks that a socket disconnecting while the
// server waits for its ack ends the wait with ErrDisconnected.
func TestEmitWithAckDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil, func(cs *client.Socket) {
			cs.On("never", func(e *client.Event) {
				go cs.Disconnect() // leave instead of answering
			})
		})
		s := ts.socket(t, cs)
		_, err := s.EmitWithAck(bounded(t), "never")
		require.ErrorIs(t, err, ferry.ErrDisconnected)
		require.False(t, s.Connected())
	})
}

// TestVolatile checks that volatile events are sent to a client that is
// ready, and dropped for one that has something waiting.
func TestVolatile(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil)
		s := ts.socket(t, cs)
		m.upgraded(t, s)
		got := events(cs, "v")
		end := events(cs, "end")

		// Idle: nothing is queued, so a volatile event goes out.
		require.NoError(t, s.Volatile().Emit("v", 0))
		require.Equal(t, 0, arg[int](t, recv(t, got), 0))
		require.NoError(t, s.Timeout(within).Volatile().Emit("v", 1))
		require.Equal(t, 1, arg[int](t, recv(t, got), 0))

		// A burst: some may be dropped, those sent arrive in order.
		const burst = 200
		for i := range burst {
			require.NoError(t, s.Volatile().Emit("v", i))
		}
		require.NoError(t, s.Emit("end"))
		recv(t, end)
		var seq []int
		for len(got) > 0 {
			seq = append(seq, arg[int](t, <-got, 0))
		}
		require.NotEmpty(t, seq, "the first of the burst finds the queue empty")
		require.LessOrEqual(t, len(seq), burst)
		require.IsIncreasing(t, seq)
	})
}

// TestVolatileDroppedWhileBehind uses a long-polling client that does not
// poll, so that the server has something queued for it: volatile events
// are then dropped, others kept.
func TestVolatileDroppedWhileBehind(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		if m.name != "polling" {
			t.Skip("only a long-polling client can be kept from reading without blocking the server")
		}
		ts := m.serve(t, nil)
		r := ts.dialRaw(t, "polling")
		reply := r.join("/", nil)
		var ok map[string]string
		require.NoError(t, reply.Payload.Decode(&ok))
		s := ts.Of("/").Socket(ok["sid"])
		require.NotNil(t, s)

		require.NoError(t, s.Emit("kept", 1))
		require.NoError(t, s.Volatile().Emit("dropped"))
		require.NoError(t, ts.Of("/").Volatile().Emit("dropped"))
		require.NoError(t, s.Emit("kept", 2))
		for want := 1; want <= 2; want++ {
			msg, err := r.read()
			require.NoError(t, err)
			require.Equal(t, "kept", msg.Event)
			require.Equal(t, want, decodeRaw[int](t, msg.Args[0]))
		}
	})
}

// sprint formats a decoded value. Parsers decode numbers into *any as
// int64, uint64 or float64; all three print alike.
func sprint(v any) string { return fmt.Sprint(v) }

// TestAckSentOnce watches the wire: a second Event.Ack sends nothing.
func TestAckSentOnce(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("ask", func(e *ferry.Event) {
				e.Ack("first")
				e.Ack("second")
			})
		})
		r := ts.dialRaw(t, m.name)
		require.Equal(t, parser.Connect, r.join("/", nil).Type)
		r.send(&parser.Packet{Type: parser.Event, ID: 5, HasID: true, Args: []any{"ask"}})
		r.send(&parser.Packet{Type: parser.Event, ID: 6, HasID: true, Args: []any{"ask"}})
		for _, id := range []uint64{5, 6} {
			msg, err := r.read()
			require.NoError(t, err)
			require.Equal(t, parser.Ack, msg.Type)
			require.Equal(t, id, msg.ID)
			require.Len(t, msg.Args, 1)
			require.Equal(t, "first", decodeRaw[string](t, msg.Args[0]))
		}
	})
}

// TestUnencodableArguments checks that a value the parser cannot encode is
// refused with an error, and nothing is sent.
func TestUnencodableArguments(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil)
		s := ts.socket(t, cs)
		got := events(cs, "x")
		bad := make(chan int)
		for _, err := range []error{
			s.Emit("x", bad),
			s.Volatile().Emit("x", func() {}),
			ts.Emit("x", bad),
			ts.To(s.ID()).Emit("x", bad),
		} {
			require.Error(t, err)
			require.NotErrorIs(t, err, ferry.ErrDisconnected)
		}
		_, err := s.Volatile().Timeout(within).EmitWithAck(context.Background(), "x", bad)
		require.Error(t, err)
		_, err = ts.Of("/").EmitWithAck(bounded(t), "x", bad)
		require.Error(t, err)
		require.True(t, s.Connected())
		require.NoError(t, s.Emit("x", "fine"))
		require.Equal(t, "fine", arg[string](t, recv(t, got), 0), "nothing was sent before")
	})
}

func TestErrorValues(t *testing.T) {
	ce := &ferry.ConnectError{Message: "not authorized", Data: 1}
	var err error = ce
	var target *ferry.ConnectError
	require.ErrorAs(t, fmt.Errorf("wrapped: %w", err), &target)
	require.Contains(t, ce.Error(), "not authorized")
	for r, want := range map[ferry.DisconnectReason]string{
		ferry.ReasonServerNamespaceDisconnect: "server namespace disconnect",
		ferry.ReasonClientNamespaceDisconnect: "client namespace disconnect",
		ferry.ReasonServerShuttingDown:        "server shutting down",
		ferry.ReasonPingTimeout:               "ping timeout",
		ferry.ReasonTransportClose:            "transport close",
		ferry.ReasonTransportError:            "transport error",
		ferry.ReasonParseError:                "parse error",
		ferry.ReasonForcedClose:               "forced close",
		ferry.DisconnectReason(0):             "DisconnectReason(0)",
		ferry.DisconnectReason(99):            "DisconnectReason(99)",
	} {
		require.Equal(t, want, r.String())
	}
}
