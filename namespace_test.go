package ferry_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

func TestNamespacesShareOneConnection(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		require.Same(t, ts.Of("/admin"), ts.Of("admin"), "a name without a slash gets one")
		require.Equal(t, "/admin", ts.Of("admin").Name())
		for _, name := range []string{"/", "/admin"} {
			nsp := ts.Of(name)
			nsp.OnConnection(func(s *ferry.Socket) {
				assert.Same(t, nsp, s.Namespace())
				assert.Same(t, ts.Server, s.Namespace().Server())
				s.On("where", func(e *ferry.Event) { e.Ack(s.Namespace().Name()) })
			})
		}

		c := ts.dial(t, nil)
		main := c.Socket("/", nil)
		admin := c.Socket("admin", nil)
		require.Equal(t, "/admin", admin.Namespace())
		require.NoError(t, main.Connect(bounded(t)))
		require.NoError(t, admin.Connect(bounded(t)))
		require.NotEqual(t, main.ID(), admin.ID(), "each namespace gets its own socket id")

		for _, s := range []*client.Socket{main, admin} {
			reply, err := s.EmitWithAck(bounded(t), "where")
			require.NoError(t, err)
			require.Equal(t, s.Namespace(), decodeRaw[string](t, reply[0]))
		}
		mainSock, adminSock := ts.socket(t, main), ts.socket(t, admin)
		require.Same(t, mainSock.Conn(), adminSock.Conn(), "both namespaces ride one Engine.IO session")
		require.NotEqual(t, mainSock.Conn().ID(), mainSock.ID(), "the Engine.IO id is not revealed as the socket id")

		// Leaving one namespace keeps the other, and the connection.
		gone := make(reasons, 1)
		gone.watch(adminSock)
		admin.Disconnect()
		require.Equal(t, "client namespace disconnect", recv(t, gone))
		reply, err := main.EmitWithAck(bounded(t), "where")
		require.NoError(t, err)
		require.Equal(t, "/", decodeRaw[string](t, reply[0]))
		require.True(t, mainSock.Connected())
	})
}

// TestConnectionHandlerOrder checks that the client is told it is
// connected before anything the connection handlers emit, and that the
// handlers run in the order they were added.
func TestConnectionHandlerOrder(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		for _, name := range []string{"first", "second"} {
			ts.OnConnection(func(s *ferry.Socket) {
				assert.True(t, s.Connected())
				assert.NoError(t, s.Emit(name))
			})
		}
		var mu sync.Mutex
		var seen []string
		note := func(what string) {
			mu.Lock()
			seen = append(seen, what)
			mu.Unlock()
		}
		done := make(chan struct{})
		ts.connect(t, "/", nil, func(s *client.Socket) {
			s.OnConnect(func() { note("connect") })
			s.On("first", func(*client.Event) { note("first") })
			s.On("second", func(*client.Event) { note("second"); close(done) })
		})
		recv(t, done)
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []string{"connect", "first", "second"}, seen)
	})
}

func TestMiddleware(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		type auth struct {
			Token string `json:"token"`
			Level int    `json:"level"`
		}
		var order []string
		var mu sync.Mutex
		ts.Use(func(s *ferry.Socket) error {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			var a auth
			if err := s.Handshake().DecodeAuth(&a); err != nil {
				return err
			}
			switch a.Token {
			case "":
				return &ferry.ConnectError{Message: "no token"}
			case "bad":
				return &ferry.ConnectError{Message: "not authorized", Data: map[string]any{"reason": "revoked", "retry": false}}
			case "plain":
				return errors.New("plain failure")
			}
			s.SetData(a)
			return nil
		})
		ts.Use(func(s *ferry.Socket) error {
			mu.Lock()
			order = append(order, "second")
			mu.Unlock()
			if s.Data().(auth).Level < 1 {
				return &ferry.ConnectError{Message: "level too low", Data: []any{"level", 1}}
			}
			return nil
		})
		joined := sockets(ts.Of("/"))

		refuse := func(a any) *client.ConnectError {
			s := ts.dial(t, nil).Socket("/", &client.SocketOptions{Auth: a})
			err := s.Connect(bounded(t))
			var ce *client.ConnectError
			require.ErrorAs(t, err, &ce)
			require.False(t, s.Connected())
			require.False(t, s.Active(), "a refused socket is not retried")
			return ce
		}
		ce := refuse(nil)
		require.Equal(t, "no token", ce.Message)
		require.Nil(t, ce.Data)

		ce = refuse(auth{Token: "bad", Level: 3})
		require.Equal(t, "not authorized", ce.Message)
		require.Equal(t, map[string]any{"reason": "revoked", "retry": false}, ce.Data)

		ce = refuse(map[string]any{"token": "plain"})
		require.Equal(t, "plain failure", ce.Message, "a plain error is sent with its text and no data")
		require.Nil(t, ce.Data)

		ce = refuse(map[string]any{"token": "x", "level": 0})
		require.Equal(t, "level too low", ce.Message)
		require.Equal(t, "[level 1]", fmt.Sprint(ce.Data))

		mu.Lock()
		require.Equal(t, []string{"first", "first", "first", "first", "second"}, order,
			"middleware runs in order and stops at the first refusal")
		mu.Unlock()
		require.Empty(t, joined, "refused sockets never reach the connection handlers")

		cs := ts.connect(t, "/", auth{Token: "good", Level: 2})
		s := recv(t, joined)
		require.Equal(t, cs.ID(), s.ID())
		require.Equal(t, auth{Token: "good", Level: 2}, s.Data(), "data set by middleware is kept")
		require.Same(t, s, ts.Of("/").Socket(cs.ID()))
	})
}

func TestMiddlewareOnCustomNamespace(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		ts.Of("/admin").Use(func(s *ferry.Socket) error {
			return &ferry.ConnectError{Message: "admins only"}
		})
		c := ts.dial(t, nil)
		admin := c.Socket("/admin", nil)
		var ce *client.ConnectError
		require.ErrorAs(t, admin.Connect(bounded(t)), &ce)
		require.Equal(t, "/admin", ce.Namespace)
		require.Equal(t, "admins only", ce.Message)
		// The main namespace has no middleware.
		require.NoError(t, c.Socket("/", nil).Connect(bounded(t)))
	})
}

func TestDynamicNamespaces(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		parent := ts.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
		require.Empty(t, parent.Name(), "a dynamic parent has no name")
		parent.Use(func(s *ferry.Socket) error {
			if strings.HasSuffix(s.Namespace().Name(), "-0") {
				return &ferry.ConnectError{Message: "room 0 is closed"}
			}
			return nil
		})
		parent.OnConnection(func(s *ferry.Socket) {
			s.Emit("welcome", s.Namespace().Name())
		})
		teams := ts.OfFunc(func(name string) bool { return strings.HasPrefix(name, "/team/") })
		joinedTeam := sockets(teams)

		welcomes := make(chan *client.Event, 4)
		on := func(s *client.Socket) { s.On("welcome", func(e *client.Event) { welcomes <- e }) }
		r1 := ts.connect(t, "/room-1", nil, on)
		require.Equal(t, "/room-1", arg[string](t, recv(t, welcomes), 0))
		r2 := ts.connect(t, "/room-2", nil, on)
		require.Equal(t, "/room-2", arg[string](t, recv(t, welcomes), 0))
		main := ts.connect(t, "/", nil, on)

		// The child exists now, and Of returns it.
		child := ts.Of("/room-1")
		require.Same(t, child, ts.socket(t, r1).Namespace())

		// The parent's middleware applies to its children.
		refused := ts.dial(t, nil).Socket("/room-0", nil)
		var ce *client.ConnectError
		require.ErrorAs(t, refused.Connect(bounded(t)), &ce)
		require.Equal(t, "room 0 is closed", ce.Message)

		// A name no parent matches is invalid.
		nope := ts.dial(t, nil).Socket("/room-x", nil)
		require.ErrorAs(t, nope.Connect(bounded(t)), &ce)
		require.Equal(t, "Invalid namespace", ce.Message)

		// A second parent, matched by a function.
		team := ts.connect(t, "/team/blue", nil)
		require.Equal(t, "/team/blue", recv(t, joinedTeam).Namespace().Name())

		// A broadcast on the parent reaches every child, and only them.
		got := map[*client.Socket]<-chan *client.Event{}
		for _, s := range []*client.Socket{r1, r2, main, team} {
			got[s] = events(s, "news")
		}
		require.NoError(t, parent.Emit("news", "parent"))
		require.NoError(t, ts.Emit("news", "main"))
		require.NoError(t, teams.Emit("news", "teams"))
		require.Equal(t, "parent", arg[string](t, recv(t, got[r1]), 0))
		require.Equal(t, "parent", arg[string](t, recv(t, got[r2]), 0))
		require.Equal(t, "main", arg[string](t, recv(t, got[main]), 0))
		require.Equal(t, "teams", arg[string](t, recv(t, got[team]), 0))

		// The parent's FetchSockets spans its children.
		all, err := parent.FetchSockets(bounded(t))
		require.NoError(t, err)
		ids := make([]string, 0, len(all))
		for _, rs := range all {
			ids = append(ids, rs.ID)
		}
		require.ElementsMatch(t, []string{r1.ID(), r2.ID()}, ids)
	})
}

// TestInvalidNamespace checks that an unknown namespace is refused with
// "Invalid namespace" and that the connection stays up.
func TestInvalidNamespace(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		r := ts.dialRaw(t, m.name)
		reply := r.join("/nope", nil)
		require.Equal(t, parser.ConnectError, reply.Type)
		require.Equal(t, "/nope", reply.Namespace)
		var payload map[string]any
		require.NoError(t, reply.Payload.Decode(&payload))
		require.Equal(t, map[string]any{"message": "Invalid namespace"}, payload)

		reply = r.join("/", nil)
		require.Equal(t, parser.Connect, reply.Type, "the connection survives the refusal")
		var ok map[string]any
		require.NoError(t, reply.Payload.Decode(&ok))
		require.NotEmpty(t, ok["sid"])
	})
}

// TestConnectTimeout checks that a connection that joins no namespace in
// time is closed, and one that did join is not.
func TestConnectTimeout(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, &ferry.Options{ConnectTimeout: 50 * time.Millisecond})
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("ping", func(e *ferry.Event) { e.Ack("pong") })
		})
		joined := ts.connect(t, "/", nil)

		start := time.Now()
		idle := ts.dialRaw(t, m.name)
		idle.waitClosed()
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

		// The joined client's timer ran out first; it is still connected.
		require.True(t, joined.Connected())
		reply, err := joined.EmitWithAck(bounded(t), "ping")
		require.NoError(t, err)
		require.Equal(t, "pong", decodeRaw[string](t, reply[0]))
	})
}
