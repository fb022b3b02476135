package ferry_test

import (
	"net/url"
	"testing"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// TestConnClose checks Conn's close callbacks: any number run, with the
// reason the sockets saw, and they do not stand in for Ferry's own (a
// user's callback used to replace the session's single one, and the socket
// then never disconnected). One added after the close runs at once.
func TestConnClose(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		joined := sockets(ts.Of("/"))
		closes := make(chan string, 8)
		ts.OnConnection(func(s *ferry.Socket) {
			for range 2 {
				s.Conn().OnClose(func(r ferry.DisconnectReason) { closes <- r.String() })
			}
		})
		// A bare client that drops the connection without leaving the
		// namespace first.
		r := ts.dialRaw(t, m.name)
		require.Equal(t, parser.Connect, r.join("/", nil).Type)
		s := recv(t, joined)
		gone := make(reasons, 1)
		gone.watch(s)

		require.NoError(t, r.sendEngine(transport.Packet{Type: transport.Close}))
		require.Equal(t, "transport close", recv(t, gone), "the socket still disconnects")
		require.Equal(t, "transport close", recv(t, closes))
		require.Equal(t, "transport close", recv(t, closes))
		<-s.Conn().Done()

		late := make(chan ferry.DisconnectReason, 1)
		s.Conn().OnClose(func(r ferry.DisconnectReason) { late <- r })
		require.Equal(t, ferry.ReasonTransportClose, recv(t, late), "a callback added after the close runs at once")
	})
}

// TestConnCloseByServer checks Conn.Close: every socket on the connection
// disconnects with "forced close", and so do the close callbacks.
func TestConnCloseByServer(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		mainJoined, adminJoined := sockets(ts.Of("/")), sockets(ts.Of("/admin"))
		c := ts.dial(t, nil)
		require.NoError(t, c.Socket("/", nil).Connect(bounded(t)))
		require.NoError(t, c.Socket("/admin", nil).Connect(bounded(t)))
		main, admin := recv(t, mainJoined), recv(t, adminJoined)
		require.Same(t, main.Conn(), admin.Conn())
		gone := make(reasons, 2)
		gone.watch(main)
		gone.watch(admin)
		closed := make(chan ferry.DisconnectReason, 1)
		main.Conn().OnClose(func(r ferry.DisconnectReason) { closed <- r })

		require.NoError(t, admin.Conn().Close())
		require.Equal(t, "forced close", recv(t, gone))
		require.Equal(t, "forced close", recv(t, gone))
		require.Equal(t, ferry.ReasonForcedClose, recv(t, closed))
		require.NoError(t, main.Conn().Close(), "closing again does nothing")
	})
}

// TestConnInfo checks what Conn and Handshake tell of the client: the
// transport, the address without port, and the Host header.
func TestConnInfo(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		cs := ts.connect(t, "/", nil)
		s := ts.socket(t, cs)
		m.upgraded(t, s)
		want := "polling"
		if m.name != "polling" {
			want = "websocket"
		}
		require.Equal(t, want, s.Conn().Transport())
		require.Equal(t, want, s.Transport())
		require.Equal(t, "127.0.0.1", s.Conn().RemoteAddr())
		require.NotEqual(t, s.ID(), s.Conn().ID())

		hs := s.Handshake()
		u, err := url.Parse(ts.URL)
		require.NoError(t, err)
		require.Equal(t, u.Host, hs.Host, "the Host header, with its port")
		require.Equal(t, "127.0.0.1", hs.Address, "the address, without port")
	})
}

// TestConnUpgrade upgrades a long-polling connection by hand, after the
// socket connected, and checks that every OnUpgrade callback hears of it.
func TestConnUpgrade(t *testing.T) {
	m := mode{name: "polling", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	upgrades := make(chan string, 4)
	ready := make(chan *ferry.Socket, 1)
	ts.OnConnection(func(s *ferry.Socket) {
		s.Conn().OnUpgrade(func(name string) { upgrades <- "first " + name })
		s.Conn().OnUpgrade(func(name string) { upgrades <- "second " + name })
		ready <- s
	})
	r := ts.dialRaw(t, "polling")
	require.Equal(t, parser.Connect, r.join("/", nil).Type)
	s := recv(t, ready)
	require.Equal(t, "polling", s.Conn().Transport())

	upgradeRaw(t, r)
	require.Equal(t, "first websocket", recv(t, upgrades))
	require.Equal(t, "second websocket", recv(t, upgrades))
	require.Equal(t, "websocket", s.Conn().Transport())
}

// upgradeRaw moves the raw client r from long-polling to WebSocket.
func upgradeRaw(t *testing.T, r *rawClient) {
	t.Helper()
	ws := r.dialWebSocket(r.sid)
	require.NoError(t, ws.WriteMessage(gorilla.TextMessage, []byte("2probe")))
	_, msg, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "3probe", string(msg))
	require.NoError(t, ws.WriteMessage(gorilla.TextMessage, []byte("5")))
	r.ws = ws
}
