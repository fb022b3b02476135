package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

func TestConnectNamespacesWithAuth(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())

		root := c.Socket("/", nil)
		welcome := collect(root, "welcome")
		connected := make(chan struct{}, 1)
		root.OnConnect(func() { connected <- struct{}{} })
		require.NoError(t, root.Connect(testCtx(t)))
		next(t, connected)

		tok := token()
		admin := connect(t, c, "/admin", map[string]any{"token": tok})

		assert.True(t, root.Connected())
		assert.True(t, admin.Connected())
		assert.NotEmpty(t, root.ID())
		assert.NotEmpty(t, admin.ID())
		assert.NotEqual(t, root.ID(), admin.ID(), "each namespace gets its own Socket.IO id")
		assert.Equal(t, "/admin", admin.Namespace())

		// The server emits "welcome" in its connection handler, right after
		// the CONNECT reply: a handler registered before Connect sees it.
		e := next(t, welcome)
		assert.Equal(t, root.ID(), decode[string](t, e.Args[0]))

		auth := decode[map[string]any](t, ack(t, admin, "auth")[0])
		assert.Equal(t, map[string]any{"token": tok}, auth)
		adminIDs := decode[[]int](t, ack(t, admin, "event-ids")[0])
		assert.Equal(t, []int{0, 1}, adminIDs, "ack ids are numbered per socket from 0")
		assert.Empty(t, decode[map[string]any](t, ack(t, root, "auth")[0]), "no auth payload reads as {} on the server")

		want := m.transports[0]
		if m.upgrades() {
			require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 5*time.Second, 5*time.Millisecond)
			want = "websocket"
		}
		assert.Equal(t, want, c.Transport())
		assert.Equal(t, want, decode[string](t, ack(t, root, "transport")[0]), "the server sees the same transport")
	})
}

func TestConnectRefusedWithData(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		root := connect(t, c, "/", nil)

		admin := c.Socket("/admin", &client.SocketOptions{Auth: map[string]any{"token": "bad"}})
		handlerErr := make(chan error, 1)
		admin.OnConnectError(func(err error) { handlerErr <- err })
		err := admin.Connect(testCtx(t))

		var ce *client.ConnectError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "/admin", ce.Namespace)
		assert.Equal(t, "not authorized", ce.Message)
		data, ok := ce.Data.(map[string]any)
		require.True(t, ok, "data is an object: %#v", ce.Data)
		assert.Equal(t, "bad token", data["reason"])
		assert.EqualValues(t, 42, data["code"])
		assert.Same(t, ce, next(t, handlerErr))

		assert.False(t, admin.Active(), "a refused socket is not retried")
		assert.ErrorIs(t, admin.Emit("echo", 1), client.ErrInactive)
		// The connection itself stays up for the other namespace.
		assert.Equal(t, "still here", decode[string](t, ack(t, root, "echo", "still here")[0]))
	})
}

// payload exercises the value kinds both parsers carry.
type payload struct {
	S      string         `json:"s"`
	N      int            `json:"n"`
	F      float64        `json:"f"`
	B      bool           `json:"b"`
	Nil    any            `json:"nil"`
	List   []any          `json:"list"`
	Nested map[string]any `json:"nested"`
	Bin    []byte         `json:"bin"`
}

func samplePayload() payload {
	return payload{
		S:      "héllo €",
		N:      -42,
		F:      3.25,
		B:      true,
		List:   []any{"x", true, nil},
		Nested: map[string]any{"deep": map[string]any{"k": "v"}},
		Bin:    []byte{0, 1, 2, 0xfe, 0xff},
	}
}

func TestEventsBothWays(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		s := connect(t, c, "/", nil)
		echoes := collect(s, "echo")
		var anyNames []string
		anyDone := make(chan struct{}, 1)
		s.OnAny(func(e *client.Event) {
			if e.Name == "echo" {
				anyNames = append(anyNames, e.Name)
				anyDone <- struct{}{}
			}
		})

		p := samplePayload()
		require.NoError(t, s.Emit("echo", "text", 7, 1.5, p, []byte{9, 8, 7}))
		e := next(t, echoes)
		next(t, anyDone)
		assert.Equal(t, []string{"echo"}, anyNames, "OnAny sees the event too")
		require.Len(t, e.Args, 5)
		assert.False(t, e.WantsAck())
		assert.ErrorIs(t, e.Ack(), client.ErrNoAck)

		var str string
		var n int
		require.NoError(t, e.Decode(&str, &n))
		assert.Equal(t, "text", str)
		assert.Equal(t, 7, n)
		assert.Equal(t, 7, decode[int](t, e.Args[1]))
		assert.Equal(t, 1.5, decode[float64](t, e.Args[2]))
		assert.Equal(t, p, decode[payload](t, e.Args[3]))
		assert.Equal(t, []byte{9, 8, 7}, decode[[]byte](t, e.Args[4]))
		assert.ErrorIs(t, e.Decode(nil, nil, nil, nil, nil, &str), parser.ErrArgCount)

		var generic any
		require.NoError(t, e.Decode(nil, nil, nil, &generic), "nil targets skip their arguments")
		obj, ok := generic.(map[string]any)
		require.True(t, ok)
		assert.Equal(t, []byte{0, 1, 2, 0xfe, 0xff}, obj["bin"], "nested binary decodes to []byte")

		assert.ErrorIs(t, s.Emit("disconnect"), client.ErrReservedEvent)
	})
}

func TestAcks(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		s := connect(t, c, "/", nil)

		// Client to server: the first ack id is 0, numbered per socket.
		res := ack(t, s, "echo", "a", []byte{1, 2}, map[string]any{"bin": []byte{3}})
		require.Len(t, res, 3)
		assert.Equal(t, "a", decode[string](t, res[0]))
		assert.Equal(t, []byte{1, 2}, decode[[]byte](t, res[1]))
		assert.Equal(t, map[string][]byte{"bin": {3}}, decode[map[string][]byte](t, res[2]))
		require.NoError(t, s.Emit("echo", "no ack wanted"))
		ids := decode[[]*int](t, ack(t, s, "event-ids")[0])
		require.Len(t, ids, 3)
		require.NotNil(t, ids[0])
		assert.Equal(t, 0, *ids[0], "first ack id on the wire")
		assert.Nil(t, ids[1], "an Emit carries no ack id")
		require.NotNil(t, ids[2])
		assert.Equal(t, 1, *ids[2])

		// An empty acknowledgement.
		assert.Empty(t, ack(t, s, "echo"))

		// Timeout: the server never answers "ignore".
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.EmitWithAck(ctx, "ignore")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, "after timeout", decode[string](t, ack(t, s, "echo", "after timeout")[0]))

		// Server to client: the server emits "question" with an ack and
		// relays our answer.
		second := make(chan error, 1)
		s.On("question", func(e *client.Event) {
			assert.True(t, e.WantsAck())
			var q string
			assert.NoError(t, e.Decode(&q))
			assert.NoError(t, e.Ack("answer to "+q, []byte{0xca, 0xfe}, e.Args[1]))
			second <- e.Ack("again")
		})
		got := decode[map[string]any](t, ack(t, s, "ask", "q1", map[string]any{"n": 1})[0])
		require.Nil(t, got["error"])
		answer, ok := got["answer"].([]any)
		require.True(t, ok, "answer: %#v", got)
		require.Len(t, answer, 3)
		assert.Equal(t, "answer to q1", answer[0])
		assert.Equal(t, []byte{0xca, 0xfe}, answer[1])
		assert.Equal(t, map[string]any{"n": int64(1)}, normalizeNumbers(answer[2]), "a Raw argument is relayed unchanged")
		assert.ErrorIs(t, next(t, second), client.ErrAckSent)
	})
}

// normalizeNumbers turns every number of a decoded value into int64 when it
// is integral, since the parsers may give float64 or int64.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = normalizeNumbers(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalizeNumbers(x)
		}
		return out
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	case uint64:
		return int64(v)
	}
	return v
}

func TestLateAckIgnored(t *testing.T) {
	url := refServer(t, serverConfig{parser: "msgpack"})
	c := dial(t, url, mode{parser: "msgpack", transports: []string{"websocket"}}.options())
	s := connect(t, c, "/", nil)
	questions := collect(s, "question")

	// The server acknowledges "ask" only once we answer its question: time
	// out first, then answer, so that the server's ack arrives late.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "ask", "first")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, next(t, questions).Ack("late"))

	// The late ack (id 0) reaches the client before this one (id 1) and
	// must not be taken for it.
	assert.Equal(t, "mine", decode[string](t, ack(t, s, "echo", "mine")[0]))
}

func TestEmitWithAckFromHandler(t *testing.T) {
	url := refServer(t, serverConfig{parser: "msgpack"})
	c := dial(t, url, mode{parser: "msgpack", transports: []string{"websocket"}}.options())
	s := c.Socket("/", nil)
	got := make(chan string, 1)
	s.On("welcome", func(*client.Event) {
		// Acks are delivered by the reader, not the dispatch goroutine, so
		// waiting here does not deadlock.
		res, err := s.EmitWithAck(context.Background(), "echo", "from handler")
		if assert.NoError(t, err) {
			var v string
			assert.NoError(t, res.Decode(&v))
			got <- v
		}
	})
	require.NoError(t, s.Connect(testCtx(t)))
	assert.Equal(t, "from handler", next(t, got))
}

func TestRoomsBroadcast(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		url := m.server(t)
		room := token()
		a := connect(t, dial(t, url, m.options()), "/", nil)
		b := connect(t, dial(t, url, m.options()), "/", nil)
		other := connect(t, dial(t, url, m.options()), "/", nil)
		newsA, newsB, newsOther := collect(a, "news"), collect(b, "news"), collect(other, "news")
		ack(t, a, "join", room)
		ack(t, b, "join", room)
		assert.Equal(t, 2, decode[int](t, ack(t, other, "count-room", room)[0]))

		ack(t, other, "to-room", room, "news", "extra!", []byte{7})
		for _, ch := range []<-chan *client.Event{newsA, newsB} {
			e := next(t, ch)
			assert.Equal(t, "extra!", decode[string](t, e.Args[0]))
			assert.Equal(t, []byte{7}, decode[[]byte](t, e.Args[1]))
		}
		// "other" is not in the room; a round trip later it still got nothing.
		ack(t, other, "echo")
		assert.Empty(t, newsOther)
	})
}

func TestServerDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		var attempts atomic.Int32
		c.OnReconnectAttempt(func(int) { attempts.Add(1) })
		root := c.Socket("/", nil)
		reasons := make(chan client.DisconnectReason, 4)
		root.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
		require.NoError(t, root.Connect(testCtx(t)))
		admin := connect(t, c, "/admin", nil)

		// The server disconnects "/" only: "/admin" stays.
		require.NoError(t, root.Emit("disconnect-me", false))
		r := next(t, reasons)
		assert.Equal(t, client.ReasonServerDisconnect, r)
		assert.False(t, r.Reconnects())
		assert.False(t, root.Active())
		assert.False(t, root.Connected())
		assert.Empty(t, root.ID())
		assert.ErrorIs(t, root.Emit("echo"), client.ErrInactive)
		assert.Equal(t, "up", decode[string](t, ack(t, admin, "echo", "up")[0]))

		// Now "/admin", closing the connection too: no reconnection.
		adminReasons := make(chan client.DisconnectReason, 4)
		admin.OnDisconnect(func(r client.DisconnectReason) { adminReasons <- r })
		require.NoError(t, admin.Emit("disconnect-me", true))
		assert.Equal(t, client.ReasonServerDisconnect, next(t, adminReasons))
		require.Eventually(t, func() bool { return c.Transport() == "" }, 5*time.Second, 5*time.Millisecond)
		assert.Never(t, func() bool { return attempts.Load() > 0 || c.Transport() != "" }, 200*time.Millisecond, 10*time.Millisecond)
		assert.Empty(t, reasons)

		// Connect again by hand: the connection reopens.
		require.NoError(t, root.Connect(testCtx(t)))
		assert.Equal(t, "back", decode[string](t, ack(t, root, "echo", "back")[0]))
	})
}

func TestClientDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		url := m.server(t)
		c := dial(t, url, m.options())
		observer := connect(t, dial(t, url, m.options()), "/", nil)
		room := token()
		s := c.Socket("/", nil)
		reasons := make(chan client.DisconnectReason, 4)
		s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
		require.NoError(t, s.Connect(testCtx(t)))
		ack(t, s, "join", room)

		// A pending ack fails when the socket disconnects.
		pending := make(chan error, 1)
		go func() {
			_, err := s.EmitWithAck(context.Background(), "ignore")
			pending <- err
		}()
		require.Eventually(t, func() bool {
			ids := decode[[]*int](t, ack(t, s, "event-ids")[0])
			return len(ids) >= 3 // join, ignore, event-ids
		}, 5*time.Second, 10*time.Millisecond)

		s.Disconnect()
		assert.Equal(t, client.ReasonClientDisconnect, next(t, reasons))
		err := next(t, pending)
		var de *client.DisconnectError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, client.ReasonClientDisconnect, de.Reason)
		assert.ErrorIs(t, err, client.ErrDisconnected)
		assert.False(t, s.Active())

		// The server saw the DISCONNECT, and with no socket left the client
		// closed its connection.
		require.Eventually(t, func() bool {
			return decode[int](t, ack(t, observer, "count-room", room)[0]) == 0
		}, 5*time.Second, 10*time.Millisecond)
		require.Eventually(t, func() bool { return c.Transport() == "" }, 5*time.Second, 5*time.Millisecond)

		s.Disconnect() // idempotent
		require.NoError(t, s.Connect(testCtx(t)))
		assert.Equal(t, "again", decode[string](t, ack(t, s, "echo", "again")[0]))
	})
}

func TestReconnectAfterTransportKill(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		reconnected := make(chan int, 4)
		c.OnReconnect(func(n int) { reconnected <- n })

		tok := token()
		root := c.Socket("/", nil)
		admin := c.Socket("/admin", &client.SocketOptions{Auth: map[string]any{"token": tok}})
		rootConnects, adminConnects := make(chan string, 4), make(chan string, 4)
		root.OnConnect(func() { rootConnects <- root.ID() })
		admin.OnConnect(func() { adminConnects <- admin.ID() })
		rootReasons, adminReasons := make(chan client.DisconnectReason, 4), make(chan client.DisconnectReason, 4)
		root.OnDisconnect(func(r client.DisconnectReason) {
			rootReasons <- r
			if r == client.ReasonTransportClose {
				// Emitted while disconnected: buffered, then sent on the
				// new connection.
				assert.NoError(t, root.Emit("seq", 7))
			}
		})
		admin.OnDisconnect(func(r client.DisconnectReason) { adminReasons <- r })
		require.NoError(t, root.Connect(testCtx(t)))
		require.NoError(t, admin.Connect(testCtx(t)))
		firstRoot, firstAdmin := next(t, rootConnects), next(t, adminConnects)
		if m.upgrades() {
			require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 5*time.Second, 5*time.Millisecond)
		}

		require.NoError(t, root.Emit("kill"))
		assert.Equal(t, client.ReasonTransportClose, next(t, rootReasons))
		assert.Equal(t, client.ReasonTransportClose, next(t, adminReasons))
		assert.GreaterOrEqual(t, next(t, reconnected), 1)
		secondRoot, secondAdmin := next(t, rootConnects), next(t, adminConnects)
		assert.NotEqual(t, firstRoot, secondRoot)
		assert.NotEqual(t, firstAdmin, secondAdmin)
		assert.True(t, root.Connected())
		assert.True(t, admin.Connected())

		// Same auth on the rejoin, and the buffered event reached the new
		// server-side socket.
		assert.Equal(t, map[string]any{"token": tok}, decode[map[string]any](t, ack(t, admin, "auth")[0]))
		assert.Equal(t, []int{7}, decode[[]int](t, ack(t, root, "seq-result")[0]))
	})
}

func TestPingTimeout(t *testing.T) {
	for _, tm := range transportModes {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			url := refServer(t, serverConfig{parser: "msgpack", pingInterval: 150, pingTimeout: 150})
			c := dial(t, url, mode{parser: "msgpack", transports: tm.transports}.options())
			s := c.Socket("/", nil)
			reasons := make(chan client.DisconnectReason, 4)
			s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
			connects := make(chan struct{}, 4)
			s.OnConnect(func() { connects <- struct{}{} })
			require.NoError(t, s.Connect(testCtx(t)))
			next(t, connects)

			// Several ping intervals pass with pongs answered: still up.
			for range 3 {
				assert.Equal(t, "alive", decode[string](t, ack(t, s, "echo", "alive")[0]))
			}
			start := time.Now()
			require.NoError(t, s.Emit("silence"))
			assert.Equal(t, client.ReasonPingTimeout, next(t, reasons))
			assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "silence is tolerated for about pingInterval+pingTimeout")
			next(t, connects)
			assert.Equal(t, "again", decode[string](t, ack(t, s, "echo", "again")[0]))
		})
	}
}

func TestParseErrorReconnects(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		c := dial(t, m.server(t), m.options())
		s := c.Socket("/", nil)
		reasons := make(chan client.DisconnectReason, 4)
		s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
		connects := make(chan struct{}, 4)
		s.OnConnect(func() { connects <- struct{}{} })
		require.NoError(t, s.Connect(testCtx(t)))
		next(t, connects)

		require.NoError(t, s.Emit("garbage"))
		assert.Equal(t, client.ReasonParseError, next(t, reasons))
		next(t, connects)
		assert.Equal(t, "ok", decode[string](t, ack(t, s, "echo", "ok")[0]))
	})
}

func TestOrderAcrossUpgrade(t *testing.T) {
	for _, p := range []string{"msgpack", "json"} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			const n = 1000
			m := mode{parser: p, transports: []string{"polling", "websocket"}}
			opts := m.options()
			// Hold the WebSocket dial until half the messages went out over
			// polling, so that the upgrade happens in the middle of the
			// traffic.
			release := make(chan struct{})
			opts.Dialer = &gorilla.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}
			c := dial(t, m.server(t), opts)
			s := connect(t, c, "/", nil)
			seqs := collect(s, "seq")

			for i := range n / 2 {
				require.NoError(t, s.Emit("seq", i))
			}
			require.NoError(t, s.Emit("burst", n))
			ack(t, s, "echo")
			assert.Equal(t, "polling", c.Transport())
			close(release)
			for i := n / 2; i < n; i++ {
				require.NoError(t, s.Emit("seq", i))
				if i%100 == 0 {
					require.NoError(t, s.Emit("burst", 0)) // interleave other traffic
				}
			}
			require.Eventually(t, func() bool { return c.Transport() == "websocket" }, 5*time.Second, time.Millisecond)

			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, decode[[]int](t, ack(t, s, "seq-result")[0]), "client to server order")
			got := make([]int, 0, n)
			for range n {
				got = append(got, decode[int](t, next(t, seqs).Args[0]))
			}
			assert.Equal(t, want, got, "server to client order")
		})
	}
}

func TestPollingBatchesRespectMaxPayload(t *testing.T) {
	for _, p := range []string{"msgpack", "json"} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			// 2000 bytes per POST: the 100 events below (~25 kB) must be
			// split, or the server answers 413 and the session dies.
			url := refServer(t, serverConfig{parser: p, maxPayload: 2000})
			c := dial(t, url, mode{parser: p, transports: []string{"polling"}}.options())
			s := c.Socket("/", nil)
			reasons := make(chan client.DisconnectReason, 4)
			s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
			require.NoError(t, s.Connect(testCtx(t)))
			pad := make([]byte, 180)
			for i := range pad {
				pad[i] = 'a' + byte(i%26)
			}
			const n = 100
			for i := range n {
				require.NoError(t, s.Emit("seq", i, string(pad)))
			}
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			assert.Equal(t, want, decode[[]int](t, ack(t, s, "seq-result")[0]))
			assert.Empty(t, reasons)
		})
	}
}

func TestReconnectGivesUp(t *testing.T) {
	srv := ownServer(t, serverConfig{parser: "msgpack"})
	opts := mode{parser: "msgpack", transports: []string{"websocket"}}.options()
	opts.ReconnectionAttempts = 2
	c := dial(t, srv.url, opts)
	var attempts []int
	failed := make(chan struct{})
	c.OnReconnectAttempt(func(n int) { attempts = append(attempts, n) })
	c.OnReconnectFailed(func() { close(failed) })
	s := c.Socket("/", nil)
	connectErrs := make(chan error, 8)
	s.OnConnectError(func(err error) { connectErrs <- err })
	require.NoError(t, s.Connect(testCtx(t)))

	srv.stop()
	next(t, failed)
	assert.Equal(t, []int{1, 2}, attempts)
	assert.Len(t, connectErrs, 2, "each failed attempt is reported")
	assert.False(t, s.Active())
	assert.ErrorIs(t, s.Emit("echo"), client.ErrInactive)
	assert.Equal(t, "", c.Transport())
}

func TestReconnectionDisabled(t *testing.T) {
	url := refServer(t, serverConfig{parser: "msgpack"})
	opts := mode{parser: "msgpack", transports: []string{"websocket"}}.options()
	opts.DisableReconnection = true
	c := dial(t, url, opts)
	s := c.Socket("/", nil)
	reasons := make(chan client.DisconnectReason, 4)
	s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
	require.NoError(t, s.Connect(testCtx(t)))
	require.NoError(t, s.Emit("kill"))
	assert.Equal(t, client.ReasonTransportClose, next(t, reasons))
	assert.False(t, s.Active(), "without reconnection a lost socket stops")
	assert.ErrorIs(t, s.Emit("echo"), client.ErrInactive)

	// Connect reopens the connection by hand.
	require.NoError(t, s.Connect(testCtx(t)))
	assert.Equal(t, "manual", decode[string](t, ack(t, s, "echo", "manual")[0]))
}

func TestConnectContext(t *testing.T) {
	url := refServer(t, serverConfig{parser: "msgpack"})
	c := dial(t, url, mode{parser: "msgpack", transports: []string{"websocket"}}.options())
	s := c.Socket("/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Connect(ctx)
	if err != nil {
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, s.Active())
	}
	require.NoError(t, s.Connect(testCtx(t)))
	assert.True(t, s.Connected())
	assert.Same(t, s, c.Socket("", nil), "one Socket per namespace")
}

func TestCloseEndsEverything(t *testing.T) {
	for _, p := range []string{"msgpack", "json"} {
		for _, tm := range transportModes {
			t.Run(p+"/"+tm.name, func(t *testing.T) {
				m := mode{parser: p, transports: tm.transports}
				url := m.server(t)
				// A WebSocket-only observer keeps a fixed set of goroutines.
				observer := connect(t, dial(t, url, mode{parser: p, transports: []string{"websocket"}}.options()), "/", nil)
				room := token()
				before := goleak.IgnoreCurrent()

				c, err := client.Dial(testCtx(t), url, m.options())
				require.NoError(t, err)
				root := connect(t, c, "/", nil)
				admin := connect(t, c, "/admin", nil)
				ack(t, root, "join", room)
				var reasons []client.DisconnectReason
				root.OnDisconnect(func(r client.DisconnectReason) { reasons = append(reasons, r) })
				admin.OnDisconnect(func(r client.DisconnectReason) { reasons = append(reasons, r) })
				pending := make(chan error, 1)
				go func() {
					_, err := admin.EmitWithAck(context.Background(), "ignore")
					pending <- err
				}()
				require.Eventually(t, func() bool {
					return len(decode[[]*int](t, ack(t, admin, "event-ids")[0])) >= 2
				}, 5*time.Second, 10*time.Millisecond)

				require.NoError(t, c.Close())
				assert.Equal(t, []client.DisconnectReason{client.ReasonClientDisconnect, client.ReasonClientDisconnect}, reasons,
					"OnDisconnect handlers ran before Close returned")
				assert.ErrorIs(t, next(t, pending), client.ErrClosed)
				goleak.VerifyNone(t, before)
				assert.ErrorIs(t, root.Emit("echo"), client.ErrClosed)
				assert.ErrorIs(t, root.Connect(testCtx(t)), client.ErrClosed)
				assert.ErrorIs(t, root.Emit("echo"), client.ErrClosed, "a failed Connect leaves the socket inactive")
				assert.Equal(t, "", c.Transport())
				require.NoError(t, c.Close(), "Close is idempotent")
				require.Eventually(t, func() bool {
					return decode[int](t, ack(t, observer, "count-room", room)[0]) == 0
				}, 5*time.Second, 10*time.Millisecond, "the server saw the namespace leave")
			})
		}
	}
}

func TestCloseFromHandler(t *testing.T) {
	url := refServer(t, serverConfig{parser: "msgpack"})
	c, err := client.Dial(testCtx(t), url, mode{parser: "msgpack", transports: []string{"polling", "websocket"}}.options())
	require.NoError(t, err)
	s := c.Socket("/", nil)
	closed := make(chan error, 1)
	s.On("welcome", func(*client.Event) { closed <- c.Close() })
	if err := s.Connect(testCtx(t)); err != nil {
		// The handler may close the client before Connect sees the socket
		// connected.
		require.ErrorIs(t, err, client.ErrClosed)
	}
	require.NoError(t, next(t, closed))
	assert.False(t, s.Connected())
}

func TestCloseWhileReconnecting(t *testing.T) {
	srv := ownServer(t, serverConfig{parser: "msgpack"})
	opts := mode{parser: "msgpack", transports: []string{"polling"}}.options()
	opts.ReconnectionDelay = time.Hour
	opts.ReconnectionDelayMax = time.Hour
	c, err := client.Dial(testCtx(t), srv.url, opts)
	require.NoError(t, err)
	s := c.Socket("/", nil)
	reasons := make(chan client.DisconnectReason, 4)
	s.OnDisconnect(func(r client.DisconnectReason) { reasons <- r })
	require.NoError(t, s.Connect(testCtx(t)))
	srv.stop()
	assert.Equal(t, client.ReasonTransportError, next(t, reasons))
	done := make(chan error)
	go func() { done <- c.Close() }()
	require.NoError(t, next(t, done), "Close does not wait for the reconnection delay")
}

func TestDialRefusedHandshake(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/socket.io/", r.URL.Path)
		assert.Equal(t, "4", r.URL.Query().Get("EIO"))
		assert.Equal(t, "polling", r.URL.Query().Get("transport"))
		assert.Equal(t, "yes", r.URL.Query().Get("extra"))
		assert.Equal(t, "v", r.Header.Get("X-Test"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":5,"message":"Unsupported protocol version"}`)
	}))
	defer srv.Close()
	_, err := client.Dial(testCtx(t), srv.URL+"?extra=yes", &client.Options{Header: http.Header{"X-Test": {"v"}}})
	var he *client.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusBadRequest, he.StatusCode)
	assert.Equal(t, 5, he.Code)
	assert.Equal(t, "Unsupported protocol version", he.Message)
}

func TestDialErrors(t *testing.T) {
	for _, bad := range []string{"://nope", "ftp://127.0.0.1:1", "http://", "http://127.0.0.1:1/admin"} {
		_, err := client.Dial(testCtx(t), bad, nil)
		assert.Error(t, err, bad)
	}
	_, err := client.Dial(testCtx(t), "http://127.0.0.1:1", &client.Options{Transports: []string{"carrier-pigeon"}})
	assert.ErrorContains(t, err, "carrier-pigeon")

	// Nothing listens on this port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = client.Dial(testCtx(t), "http://"+addr, &client.Options{Timeout: 2 * time.Second})
	assert.Error(t, err)
	var he *client.HTTPError
	assert.False(t, errors.As(err, &he))
}
