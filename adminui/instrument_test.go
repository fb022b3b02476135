package adminui_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/adminui"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// within bounds every wait of these tests.
const within = 10 * time.Second

func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	return ctx
}

func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("nothing received within %v", within)
		panic("unreachable")
	}
}

// dial connects a Go client's socket to namespace of url, with auth and
// the transports given (default both), and returns it with a channel of
// every event it receives, registered before it connects.
func dial(t testing.TB, url, namespace string, auth any, transports ...string) (*client.Socket, <-chan *client.Event, error) {
	t.Helper()
	return dialWith(t, parser.Msgpack(), url, namespace, auth, transports...)
}

// dialWith is dial with the parser codec.
func dialWith(t testing.TB, codec parser.Codec, url, namespace string, auth any, transports ...string) (*client.Socket, <-chan *client.Event, error) {
	t.Helper()
	c, err := client.Dial(bounded(t), url, &client.Options{
		Parser:              codec,
		Transports:          transports,
		DisableReconnection: true,
		Timeout:             within,
		Logger:              quiet,
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s := c.Socket(namespace, &client.SocketOptions{Auth: auth})
	events := make(chan *client.Event, 1024)
	s.OnAny(func(e *client.Event) { events <- e })
	return s, events, s.Connect(bounded(t))
}

// next returns the next event named name, skipping others.
func next(t testing.TB, events <-chan *client.Event, name string) *client.Event {
	t.Helper()
	for {
		if e := recv(t, events); e.Name == name {
			return e
		}
	}
}

// upTo returns the events received before the next one named name.
func upTo(t testing.TB, events <-chan *client.Event, name string) []string {
	t.Helper()
	var before []string
	for {
		e := recv(t, events)
		if e.Name == name {
			return before
		}
		before = append(before, e.Name)
	}
}

// withPing adds to the admin namespace a "ping" the admin clients may ask
// for an ack: once it comes back, whatever the UI asked before was handled
// and whatever was sent to it before was received.
func withPing(srv *ferry.Server, namespace string) {
	srv.Of(namespace).OnConnection(func(s *ferry.Socket) {
		s.On("ping", func(e *ferry.Event) { e.Ack() })
	})
}

func ping(t testing.TB, s *client.Socket, events <-chan *client.Event) []string {
	t.Helper()
	_, err := s.EmitWithAck(bounded(t), "ping")
	require.NoError(t, err)
	if events == nil {
		return nil
	}
	var before []string
	for {
		select {
		case e := <-events:
			before = append(before, e.Name)
		default:
			return before
		}
	}
}

// describedSocket is what socket_connected says of a socket.
type describedSocket struct {
	ID    string         `json:"id"`
	Nsp   string         `json:"nsp"`
	Rooms []string       `json:"rooms"`
	Data  map[string]any `json:"data"`
}

// nextSocket returns the description of the socket id in the next
// socket_connected about it.
func nextSocket(t testing.TB, events <-chan *client.Event, id string) describedSocket {
	t.Helper()
	for {
		var s describedSocket
		require.NoError(t, next(t, events, "socket_connected").Decode(&s))
		if s.ID == id {
			return s
		}
	}
}

func features(t testing.TB, events <-chan *client.Event) []string {
	t.Helper()
	var config struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	require.NoError(t, next(t, events, "config").Decode(&config))
	return config.SupportedFeatures
}

func TestInstrumentOptions(t *testing.T) {
	srv := ferry.NewServer(&ferry.Options{Logger: quiet})
	defer srv.Close()
	for _, tc := range []struct {
		name string
		opts *adminui.Options
		want string
	}{
		{"nil", nil, "must set Auth"},
		{"no auth", &adminui.Options{}, "must set Auth"},
		{"both", &adminui.Options{NoAuth: true, Auth: &adminui.BasicAuth{Username: "a", PasswordHash: testHash(t)}}, "both"},
		{"not a hash", &adminui.Options{Auth: &adminui.BasicAuth{Username: "a", PasswordHash: "changeit"}}, "not a bcrypt hash"},
		{"mode", &adminui.Options{NoAuth: true, Mode: adminui.Mode(7)}, "Mode(7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := adminui.Instrument(srv, tc.opts)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, inst)
		})
	}
	require.Equal(t, "development", adminui.Development.String())
	require.Equal(t, "production", adminui.Production.String())
}

// TestAuth checks the credentials with Ferry's Go client, over both
// parsers (protocol.mjs does so with the official client).
func TestAuth(t *testing.T) {
	for _, codec := range []parser.Codec{parser.JSON(), parser.Msgpack()} {
		t.Run(codec.Name(), func(t *testing.T) {
			app := newAppServer(t, &ferry.Options{Parser: codec}, nil)
			var ce *client.ConnectError
			for _, auth := range []any{
				nil,
				map[string]any{"username": testUser, "password": "wrong"},
				map[string]any{"username": "root", "password": testPassword},
				map[string]any{"username": testUser, "password": 42},
				map[string]any{"sessionId": "0123456789abcdef0123456789abcdef"},
			} {
				_, _, err := dialWith(t, codec, app.URL, "/admin", auth)
				require.ErrorAs(t, err, &ce, "auth %v", auth)
				require.Equal(t, "invalid credentials", ce.Message, "auth %v", auth)
			}
			_, events, err := dialWith(t, codec, app.URL, "/admin", map[string]any{"username": testUser, "password": testPassword})
			require.NoError(t, err)
			var session string
			require.NoError(t, next(t, events, "session").Decode(&session))
			require.Regexp(t, `^[0-9a-f]{32}$`, session)

			_, events, err = dialWith(t, codec, app.URL, "/admin", map[string]any{"sessionId": session})
			require.NoError(t, err, "the session id stands for the credentials")
			require.NotContains(t, upTo(t, events, "config"), "session", "no new session is given")
		})
	}
}

func TestNoAuth(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true})
	_, events, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	require.NotContains(t, upTo(t, events, "config"), "session", "no session without authentication")
}

func TestReadOnly(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true, ReadOnly: true})
	withPing(app.Server, "/admin")
	admin, events, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}, features(t, events))

	user, _, err := dial(t, app.URL, "/", nil)
	require.NoError(t, err)
	require.NoError(t, admin.Emit("join", "/", "room", user.ID()))
	require.NoError(t, admin.Emit("_disconnect", "/", true, user.ID()))
	ping(t, admin, events)
	s := app.Of("/").Socket(user.ID())
	require.NotNil(t, s)
	require.True(t, s.Connected(), "a read-only UI disconnects nobody")
	require.Equal(t, []string{user.ID()}, s.Rooms(), "a read-only UI makes nobody join a room")
}

func TestProductionMode(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true, Mode: adminui.Production, ServerStatsInterval: 20 * time.Millisecond})
	withPing(app.Server, "/admin")
	admin, events, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	require.Equal(t, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}, features(t, events))

	user, _, err := dial(t, app.URL, "/", nil, "polling")
	require.NoError(t, err)
	_, err = user.EmitWithAck(bounded(t), "rooms")
	require.NoError(t, err)
	user.Disconnect()
	for _, name := range ping(t, admin, events) {
		require.Equal(t, "server_stats", name, "production mode sends no socket, room or event")
	}
	// The connections are still counted.
	_, _, err = dial(t, app.URL, "/", nil)
	require.NoError(t, err)
	for counted := false; !counted; {
		var stats struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"aggregatedEvents"`
		}
		require.NoError(t, next(t, events, "server_stats").Decode(&stats))
		for _, e := range stats.Events {
			counted = counted || e.Type == "rawConnection"
		}
	}
}

// stats is a server_stats event.
type stats struct {
	ServerID string  `json:"serverId"`
	PID      int     `json:"pid"`
	Uptime   float64 `json:"uptime"`
	Clients  int     `json:"clientsCount"`
	Polling  int     `json:"pollingClientsCount"`
	Events   []struct {
		Timestamp int64  `json:"timestamp"`
		Type      string `json:"type"`
		SubType   string `json:"subType"`
		Count     int    `json:"count"`
	} `json:"aggregatedEvents"`
	Namespaces []struct {
		Name    string `json:"name"`
		Sockets int    `json:"socketsCount"`
	} `json:"namespaces"`
}

// waitStats returns the first server_stats among events for which ok
// holds, with the aggregated events counted since the call, by type and
// subtype.
func waitStats(t testing.TB, events <-chan *client.Event, ok func(s stats, counts map[string]int) bool) stats {
	t.Helper()
	counts := make(map[string]int)
	for {
		var s stats
		require.NoError(t, next(t, events, "server_stats").Decode(&s))
		for _, e := range s.Events {
			require.Zero(t, e.Timestamp%1000)
			counts[e.Type+" "+e.SubType] += e.Count
		}
		if ok(s, counts) {
			return s
		}
	}
}

// TestServerStats checks the stats: the clients, those on long-polling,
// the namespaces and their sockets, and the connections and
// disconnections counted.
func TestServerStats(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true, ServerStatsInterval: 20 * time.Millisecond})
	app.Of("/chat")
	_, events, err := dial(t, app.URL, "/admin", nil, "websocket")
	require.NoError(t, err)
	s := waitStats(t, events, func(s stats, _ map[string]int) bool { return s.Clients == 1 })
	require.Equal(t, testServerID, s.ServerID)
	require.Positive(t, s.PID)
	require.Zero(t, s.Polling)

	polling, _, err := dial(t, app.URL, "/chat", nil, "polling")
	require.NoError(t, err)
	_, _, err = dial(t, app.URL, "/", nil, "websocket")
	require.NoError(t, err)
	s = waitStats(t, events, func(s stats, counts map[string]int) bool {
		return s.Clients == 3 && s.Polling == 1 && counts["rawConnection "] == 2
	})
	names := make(map[string]int)
	for _, n := range s.Namespaces {
		names[n.Name] = n.Sockets
	}
	require.Equal(t, map[string]int{"/": 1, "/admin": 1, "/chat": 1}, names)

	polling.Disconnect()
	s = waitStats(t, events, func(s stats, counts map[string]int) bool {
		return counts["rawDisconnection client namespace disconnect"]+counts["rawDisconnection transport close"] == 1 && s.Polling == 0
	})
	require.GreaterOrEqual(t, s.Uptime, 0.0)
}

// TestMeter: with a Meter, connections are counted from their handshake
// (one that joins no namespace included), by transport, with the engine's
// close reasons, and packets and bytes both ways.
func TestMeter(t *testing.T) {
	meter := adminui.NewMeter()
	app := newAppServer(t, &ferry.Options{Observer: meter.Observer()},
		&adminui.Options{NoAuth: true, Meter: meter, ServerStatsInterval: 20 * time.Millisecond})
	_, events, err := dial(t, app.URL, "/admin", nil, "websocket")
	require.NoError(t, err)
	waitStats(t, events, func(s stats, counts map[string]int) bool {
		return s.Clients == 1 && s.Polling == 0 && counts["rawConnection "] == 1
	})

	user, _, err := dial(t, app.URL, "/", nil, "polling")
	require.NoError(t, err)
	reply, err := user.EmitWithAck(bounded(t), "rooms")
	require.NoError(t, err)
	require.Len(t, reply, 1)
	bare, err := client.Dial(bounded(t), app.URL, &client.Options{
		Transports: []string{"websocket"}, DisableReconnection: true, Timeout: within, Logger: quiet,
	})
	require.NoError(t, err)
	s := waitStats(t, events, func(s stats, counts map[string]int) bool {
		return s.Clients == 3 && counts["rawConnection "] == 2 &&
			counts["packetsIn "] > 0 && counts["bytesIn "] > 0 && counts["packetsOut "] > 0 && counts["bytesOut "] > 0
	})
	require.Equal(t, 1, s.Polling)

	bare.Close()
	user.Disconnect()
	waitStats(t, events, func(s stats, counts map[string]int) bool {
		return s.Clients == 1 && s.Polling == 0 && counts["rawDisconnection transport close"] == 2
	})
}

func TestDynamicNamespaces(t *testing.T) {
	app := newAppServer(t, &ferry.Options{CleanupEmptyChildNamespaces: true}, &adminui.Options{NoAuth: true})
	app.OfRegexp(regexp.MustCompile(`^/team-\d+$`)).OnConnection(func(s *ferry.Socket) { s.Join("members") })
	_, events, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	next(t, events, "all_sockets")

	for range 2 { // the child is removed as its socket leaves, and made again
		user, _, err := dial(t, app.URL, "/team-1", nil)
		require.NoError(t, err)
		userID := user.ID()
		var room, nsp, id string
		for room != "members" {
			require.NoError(t, next(t, events, "room_joined").Decode(&nsp, &room, &id))
		}
		require.Equal(t, []string{"/team-1", userID}, []string{nsp, id})
		described := nextSocket(t, events, userID)
		require.Equal(t, "/team-1", described.Nsp)
		require.ElementsMatch(t, []string{userID, "members"}, described.Rooms)
		user.Disconnect()
		require.NoError(t, next(t, events, "socket_disconnected").Decode(&nsp, &id))
		require.Equal(t, []string{"/team-1", userID}, []string{nsp, id})
	}
}

func TestSocketData(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true})
	app.Use(func(s *ferry.Socket) error {
		var auth struct {
			Data string `json:"data"`
		}
		s.Handshake().DecodeAuth(&auth)
		switch auth.Data {
		case "struct":
			s.SetData(struct {
				Nick  string `json:"nick"`
				Level int    `json:"level"`
			}{"ann", 3})
		case "channel":
			s.SetData(make(chan int))
		}
		return nil
	})
	_, events, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	next(t, events, "all_sockets")
	for _, tc := range []struct {
		auth string
		want map[string]any
	}{
		{"", map[string]any{}},
		{"struct", map[string]any{"nick": "ann", "level": int64(3)}},
		{"channel", map[string]any{"error": "data not shown: json: unsupported type: chan int"}},
	} {
		user, _, err := dial(t, app.URL, "/", map[string]any{"data": tc.auth})
		require.NoError(t, err)
		require.Equal(t, tc.want, nextSocket(t, events, user.ID()).Data, "data %q", tc.auth)
	}
}

func TestClose(t *testing.T) {
	app := newAppServer(t, nil, &adminui.Options{NoAuth: true})
	admin, _, err := dial(t, app.URL, "/admin", nil)
	require.NoError(t, err)
	gone := make(chan client.DisconnectReason, 1)
	admin.OnDisconnect(func(r client.DisconnectReason) { gone <- r })

	require.NoError(t, app.Inst.Close())
	require.ErrorIs(t, app.Inst.Close(), adminui.ErrClosed)
	assert.Equal(t, client.DisconnectReason("io server disconnect"), recv(t, gone))
	_, _, err = dial(t, app.URL, "/admin", nil)
	var ce *client.ConnectError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, "admin UI closed", ce.Message)

	// The server carries on without the UI.
	user, _, err := dial(t, app.URL, "/", nil)
	require.NoError(t, err)
	_, err = user.EmitWithAck(bounded(t), "rooms")
	require.NoError(t, err)
}

// TestSocketDisconnectedBeforeAnnounced checks a socket that a connection
// handler added before Instrument disconnects: the UI is not told of it,
// since it would never be told of its disconnection.
func TestSocketDisconnectedBeforeAnnounced(t *testing.T) {
	srv := ferry.NewServer(&ferry.Options{Logger: quiet})
	srv.OnConnection(func(s *ferry.Socket) {
		var auth struct {
			Kick bool `json:"kick"`
		}
		s.Handshake().DecodeAuth(&auth)
		if auth.Kick {
			s.Disconnect(false)
		}
	})
	inst, err := adminui.Instrument(srv, &adminui.Options{NoAuth: true, Logger: quiet})
	require.NoError(t, err)
	handled := make(chan string, 4)
	srv.OnConnection(func(s *ferry.Socket) { handled <- s.ID() }) // after the UI's handler
	withPing(srv, "/admin")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	t.Cleanup(func() { inst.Close() })

	admin, events, err := dial(t, hs.URL, "/admin", nil)
	require.NoError(t, err)
	next(t, events, "all_sockets")
	dial(t, hs.URL, "/", map[string]any{"kick": true}) // connected, then at once disconnected
	kickedID := recv(t, handled)
	kept, _, err := dial(t, hs.URL, "/", nil)
	require.NoError(t, err)
	require.Equal(t, kept.ID(), recv(t, handled))
	ping(t, admin, nil)

	var connected []string
	for {
		select {
		case e := <-events:
			if e.Name == "socket_connected" {
				var s describedSocket
				require.NoError(t, e.Decode(&s))
				connected = append(connected, s.ID)
			}
			require.NotEqual(t, "socket_disconnected", e.Name)
			continue
		default:
		}
		break
	}
	require.Equal(t, []string{kept.ID()}, connected[1:], "the admin socket, then only the socket that stayed")
	require.NotContains(t, connected, kickedID)
}
