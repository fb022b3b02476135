package ferry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// TestServerDisconnect contrasts Disconnect(false), which leaves the
// connection and the client's other namespaces up, with Disconnect(true),
// which closes the connection.
func TestServerDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		for _, name := range []string{"/", "/admin"} {
			ts.Of(name).OnConnection(func(s *ferry.Socket) {
				s.On("ping", func(e *ferry.Event) { e.Ack("pong") })
			})
		}
		c := ts.dial(t, nil)
		main, admin := c.Socket("/", nil), c.Socket("/admin", nil)
		mainGone, adminGone := clientReasons(main), clientReasons(admin)
		require.NoError(t, main.Connect(bounded(t)))
		require.NoError(t, admin.Connect(bounded(t)))
		serverGone := make(reasons, 4)
		mainSock, adminSock := ts.socket(t, main), ts.socket(t, admin)
		serverGone.watch(mainSock)
		serverGone.watch(adminSock)

		mainSock.Disconnect(false)
		require.Equal(t, "server namespace disconnect", recv(t, serverGone))
		require.Equal(t, client.ReasonServerDisconnect, recv(t, mainGone))
		require.False(t, main.Active(), "the client does not rejoin a namespace the server left")
		_, err := admin.EmitWithAck(bounded(t), "ping")
		require.NoError(t, err, "the other namespace, and the connection, are still up")

		// Rejoin "/" on the same connection, then close it all from /admin.
		require.NoError(t, main.Connect(bounded(t)))
		mainSock = ts.socket(t, main)
		serverGone.watch(mainSock)
		adminSock.Disconnect(true)
		require.Equal(t, client.ReasonServerDisconnect, recv(t, adminGone))
		require.Equal(t, client.ReasonTransportClose, recv(t, mainGone), "the connection closed under /")
		require.Equal(t, "server namespace disconnect", recv(t, serverGone))
		require.Equal(t, "server namespace disconnect", recv(t, serverGone))
		require.False(t, mainSock.Connected())
		require.False(t, adminSock.Connected())
		select {
		case <-mainSock.Conn().Done():
		case <-time.After(within):
			t.Fatal("the connection is still open")
		}
	})
}

// TestDisconnectReasons checks the reason the server reports for each way
// a socket can go.
func TestDisconnectReasons(t *testing.T) {
	t.Run("client namespace disconnect", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ts := m.serve(t, nil)
			gone := make(reasons, 2)
			ts.Use(gone.middleware)
			cs := ts.connect(t, "/", nil)
			cs.Disconnect()
			require.Equal(t, "client namespace disconnect", recv(t, gone))

			// Closing the client leaves every namespace the same way.
			ts.connect(t, "/", nil)
			c := ts.dial(t, nil)
			cs = c.Socket("/", nil)
			require.NoError(t, cs.Connect(bounded(t)))
			require.NoError(t, c.Close())
			require.Equal(t, "client namespace disconnect", recv(t, gone))
		})
	})

	t.Run("transport close", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ts := m.serve(t, nil)
			gone := make(reasons, 2)
			ts.Use(gone.middleware)
			r := ts.dialRaw(t, m.name)
			r.join("/", nil)
			require.NoError(t, r.sendEngine(transport.Packet{Type: transport.Close}))
			require.Equal(t, "transport close", recv(t, gone))
		})
	})

	t.Run("ping timeout", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ts := m.serve(t, &ferry.Options{PingInterval: 20 * time.Millisecond, PingTimeout: 40 * time.Millisecond})
			gone := make(reasons, 2)
			ts.Use(gone.middleware)
			// A client that answers pings stays up across many intervals.
			alive := ts.connect(t, "/", nil)
			// The first ping is due PingInterval after the handshake, and a
			// silent client is closed PingTimeout after a ping is due.
			start := time.Now()
			r := ts.dialRaw(t, m.name)
			r.join("/", nil)
			r.pong = false // and then it falls silent
			require.Equal(t, "ping timeout", recv(t, gone))
			require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
			require.True(t, alive.Connected())
			require.True(t, ts.socket(t, alive).Connected())
		})
	})

	t.Run("parse error", func(t *testing.T) {
		// Each way a client can break the protocol closes its whole
		// connection, every namespace on it included.
		breaches := map[string]func(r *rawClient){
			"malformed socket.io packet": func(r *rawClient) {
				bad := transport.Packet{Type: transport.Message, Data: []byte{0xc1}, Binary: true}
				if r.codec.Name() == "json" {
					bad = transport.TextPacket(`2{"not":"an array"}`)
				}
				require.NoError(r.t, r.sendEngine(bad))
			},
			"malformed engine.io packet": func(r *rawClient) {
				if r.ws != nil {
					require.NoError(r.t, r.ws.WriteMessage(gorilla.TextMessage, []byte("9garbage")))
					return
				}
				resp, err := r.hc.Post(r.base+"?EIO=4&transport=polling&sid="+r.sid, "text/plain", strings.NewReader("9garbage"))
				require.NoError(r.t, err)
				resp.Body.Close()
			},
			"second connect": func(r *rawClient) {
				r.send(&parser.Packet{Type: parser.Connect, Namespace: "/admin"})
			},
			"event for a namespace not joined": func(r *rawClient) {
				r.send(&parser.Packet{Type: parser.Event, Namespace: "/other", Args: []any{"x"}})
			},
			"connect error from the client": func(r *rawClient) {
				r.send(&parser.Packet{Type: parser.ConnectError, Payload: map[string]any{"message": "no"}})
			},
		}
		for name, breach := range breaches {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runParsers(t, func(t *testing.T, m mode) {
					ts := m.serve(t, nil)
					gone := make(reasons, 2)
					ts.Use(gone.middleware)
					ts.Of("/admin").Use(gone.middleware)
					ts.Of("/other")
					r := ts.dialRaw(t, m.name)
					require.Equal(t, parser.Connect, r.join("/", nil).Type)
					require.Equal(t, parser.Connect, r.join("/admin", nil).Type)
					breach(r)
					require.Equal(t, "parse error", recv(t, gone))
					require.Equal(t, "parse error", recv(t, gone))
					r.waitClosed()
				})
			})
		}
	})

	t.Run("forced close", func(t *testing.T) {
		run(t, func(t *testing.T, m mode) {
			ts := m.serve(t, nil)
			gone := make(reasons, 2)
			ts.Use(gone.middleware)
			ts.Of("/admin").Use(gone.middleware)
			c := ts.dial(t, nil)
			main, admin := c.Socket("/", nil), c.Socket("/admin", nil)
			mainGone, adminGone := clientReasons(main), clientReasons(admin)
			require.NoError(t, main.Connect(bounded(t)))
			require.NoError(t, admin.Connect(bounded(t)))
			require.NoError(t, ts.socket(t, main).Conn().Close())
			require.Equal(t, "forced close", recv(t, gone))
			require.Equal(t, "forced close", recv(t, gone))
			require.Equal(t, client.ReasonTransportClose, recv(t, mainGone))
			require.Equal(t, client.ReasonTransportClose, recv(t, adminGone))
		})
	})
}

// TestDisconnectHandlers checks what the disconnect handlers see: rooms
// intact while disconnecting, the socket gone from everything after.
func TestDisconnectHandlers(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		type seen struct {
			id     string
			stage  string
			reason string
			rooms  []string
			found  bool
			ctxErr error
		}
		stages := make(chan seen, 8)
		ts.OnConnection(func(s *ferry.Socket) {
			s.Join("lobby")
			note := func(stage string) func(*ferry.Socket, ferry.DisconnectReason) {
				return func(s *ferry.Socket, r ferry.DisconnectReason) {
					stages <- seen{s.ID(), stage, r.String(), s.Rooms(), s.Namespace().Socket(s.ID()) != nil, s.Context().Err()}
				}
			}
			s.OnDisconnecting(note("disconnecting 1"))
			s.OnDisconnecting(func(s *ferry.Socket, r ferry.DisconnectReason) {
				// The classic use: tell the rooms who is leaving.
				for _, room := range s.Rooms() {
					if room != s.ID() {
						s.To(room).Emit("left", room, s.ID())
					}
				}
			})
			s.OnDisconnecting(note("disconnecting 2"))
			s.OnDisconnect(note("disconnect 1"))
			s.OnDisconnect(note("disconnect 2"))
		})
		stay := ts.connect(t, "/", nil)
		stayID := stay.ID()
		left := events(stay, "left")
		leaving := ts.connect(t, "/", nil)
		id := leaving.ID()
		s := ts.socket(t, leaving)

		leaving.Disconnect()
		want := []string{"disconnecting 1", "disconnecting 2", "disconnect 1", "disconnect 2"}
		for i, stage := range want {
			got := recv(t, stages)
			require.Equal(t, stage, got.stage)
			require.Equal(t, "client namespace disconnect", got.reason)
			if i < 2 {
				require.ElementsMatch(t, []string{id, "lobby"}, got.rooms, "rooms are intact while disconnecting")
				require.True(t, got.found)
				require.NoError(t, got.ctxErr)
			} else {
				require.Empty(t, got.rooms, "rooms are left before OnDisconnect")
				require.False(t, got.found)
				require.ErrorIs(t, got.ctxErr, context.Canceled)
			}
		}
		e := recv(t, left)
		require.Equal(t, "lobby", arg[string](t, e, 0))
		require.Equal(t, id, arg[string](t, e, 1))

		// The handlers ran once: later closes find the socket gone. The
		// server's Close runs the other socket's handlers before it returns.
		s.Disconnect(true)
		require.NoError(t, ts.Close())
		require.Len(t, stages, len(want))
		for _, stage := range want {
			got := <-stages
			require.Equal(t, stayID, got.id)
			require.Equal(t, stage, got.stage)
			require.Equal(t, "server shutting down", got.reason)
		}
	})
}
