package ferry_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// panicServer is a test server whose handlers panic on cue, with a
// bystander namespace whose clients must not notice.
type panicServer struct {
	*testServer
	logs *logRecorder
	gone reasons // disconnect reasons of the sockets under test
}

func servePanics(t *testing.T, m mode) *panicServer {
	logs := &logRecorder{level: slog.LevelError}
	ps := &panicServer{testServer: m.serve(t, &ferry.Options{Logger: slog.New(logs)}), logs: logs, gone: make(reasons, 8)}
	ps.Of("/bystander").OnConnection(func(s *ferry.Socket) {
		s.On("echo", func(e *ferry.Event) { e.Ack(e.Args[0]) })
	})
	return ps
}

// bystander connects a client to the bystander namespace.
func (ps *panicServer) bystander(t *testing.T) *client.Socket {
	return ps.connect(t, "/bystander", nil)
}

// unaffected checks that the bystander's connection still works.
func (ps *panicServer) unaffected(t *testing.T, by *client.Socket) {
	t.Helper()
	reply, err := by.EmitWithAck(bounded(t), "echo", "still here")
	require.NoError(t, err)
	require.Len(t, reply, 1)
	require.Equal(t, "still here", decodeRaw[string](t, reply[0]))
}

// logged checks that the panic was logged once, as an error, with its
// value and a stack that shows where it happened.
func (ps *panicServer) logged(t *testing.T, value string) {
	t.Helper()
	errs := ps.logs.at(slog.LevelError)
	require.Len(t, errs, 1)
	a := attrs(errs[0])
	require.Equal(t, value, a["panic"])
	require.Contains(t, a["stack"], "ferry_test.TestHandlerPanic", "the stack reaches the handler")
	require.NotEmpty(t, a["sid"])
}

// TestHandlerPanic checks that a panic in each kind of handler run on a
// connection's read goroutine ends that connection only, over every
// transport: before, one on a WebSocket reader ended the process. The
// socket's OnDisconnect sees "server error"; the panic is logged with its
// stack; another client carries on.
func TestHandlerPanic(t *testing.T) {
	t.Run("event", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			ps.OnConnection(func(s *ferry.Socket) {
				ps.gone.watch(s)
				s.On("boom", func(*ferry.Event) { panic("event handler") })
			})
			by := ps.bystander(t)
			cs := ps.connect(t, "/", nil)
			lost := clientReasons(cs)
			require.NoError(t, cs.Emit("boom"))
			require.Equal(t, "server error", recv(t, ps.gone))
			recv(t, lost)
			ps.logged(t, "event handler")
			ps.unaffected(t, by)
		})
	})
	t.Run("any", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			ps.OnConnection(func(s *ferry.Socket) {
				ps.gone.watch(s)
				s.OnAny(func(*ferry.Event) { panic("any handler") })
			})
			by := ps.bystander(t)
			cs := ps.connect(t, "/", nil)
			lost := clientReasons(cs)
			require.NoError(t, cs.Emit("anything"))
			require.Equal(t, "server error", recv(t, ps.gone))
			recv(t, lost)
			ps.logged(t, "any handler")
			ps.unaffected(t, by)
		})
	})
	t.Run("connection", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			ps.OnConnection(func(s *ferry.Socket) { ps.gone.watch(s) })
			ps.OnConnection(func(*ferry.Socket) { panic("connection handler") })
			by := ps.bystander(t)
			s := ps.dial(t, nil).Socket("/", nil)
			lost := clientReasons(s)
			// The CONNECT reply goes out before the handlers run, so the
			// client may see itself connected before the connection ends.
			s.Connect(bounded(t))
			require.Equal(t, "server error", recv(t, ps.gone))
			if s.Connected() {
				recv(t, lost)
			}
			ps.logged(t, "connection handler")
			ps.unaffected(t, by)
		})
	})
	t.Run("middleware", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			refused := make(chan *ferry.Socket, 1)
			ps.Use(func(s *ferry.Socket) error {
				refused <- s
				panic("middleware")
			})
			by := ps.bystander(t)
			s := ps.dial(t, nil).Socket("/", nil)
			require.Error(t, s.Connect(bounded(t)), "the connection ends before the socket connects")
			sock := recv(t, refused)
			recv(t, sock.Context().Done())
			require.False(t, sock.Connected())
			ps.logged(t, "middleware")
			ps.unaffected(t, by)
		})
	})
	t.Run("disconnecting", func(t *testing.T) {
		// A panic in a disconnect handler: the socket's disconnect
		// completes, and the connection's other sockets end with it.
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			ps.OnConnection(func(s *ferry.Socket) {
				ps.gone.watch(s)
				s.OnDisconnecting(func(*ferry.Socket, ferry.DisconnectReason) { panic("disconnecting handler") })
			})
			other := make(reasons, 1)
			ps.Of("/other").Use(other.middleware)
			by := ps.bystander(t)
			c := ps.dial(t, nil)
			main := c.Socket("/", nil)
			require.NoError(t, main.Connect(bounded(t)))
			require.NoError(t, c.Socket("/other", nil).Connect(bounded(t)))
			s := ps.socket(t, main)
			main.Disconnect()
			require.Equal(t, "client namespace disconnect", recv(t, ps.gone))
			require.Equal(t, "server error", recv(t, other))
			require.Empty(t, s.Rooms(), "the disconnect completed")
			require.Nil(t, ps.Of("/").Socket(s.ID()))
			ps.logged(t, "disconnecting handler")
			ps.unaffected(t, by)
		})
	})
	t.Run("upgrade", func(t *testing.T) {
		// A panic in an OnUpgrade callback, on the WebSocket's reader.
		ps := servePanics(t, mode{name: "polling", codec: parser.Msgpack()})
		ps.OnConnection(func(s *ferry.Socket) {
			ps.gone.watch(s)
			s.Conn().OnUpgrade(func(string) { panic("upgrade callback") })
		})
		by := ps.bystander(t)
		r := ps.dialRaw(t, "polling")
		require.Equal(t, parser.Connect, r.join("/", nil).Type)
		upgradeRaw(t, r)
		require.Equal(t, "server error", recv(t, ps.gone))
		r.waitClosed()
		ps.logged(t, "upgrade callback")
		ps.unaffected(t, by)
	})
	t.Run("close", func(t *testing.T) {
		// A panic in an OnClose callback is logged; the others still run.
		run(t, func(t *testing.T, m mode) {
			ps := servePanics(t, m)
			closes := make(chan ferry.DisconnectReason, 1)
			ps.OnConnection(func(s *ferry.Socket) {
				s.Conn().OnClose(func(ferry.DisconnectReason) { panic("close callback") })
				s.Conn().OnClose(func(r ferry.DisconnectReason) { closes <- r })
			})
			by := ps.bystander(t)
			r := ps.dialRaw(t, m.name)
			require.Equal(t, parser.Connect, r.join("/", nil).Type)
			require.NoError(t, r.sendEngine(transport.Packet{Type: transport.Close}))
			require.Equal(t, ferry.ReasonTransportClose, recv(t, closes))
			ps.logged(t, "close callback")
			ps.unaffected(t, by)
		})
	})
}

// TestServerErrorReason checks the new reason's name.
func TestServerErrorReason(t *testing.T) {
	require.Equal(t, "server error", ferry.ReasonServerError.String())
	require.False(t, strings.HasPrefix(ferry.ReasonServerError.String(), "DisconnectReason("))
}
