package ferry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// recoveryReply is a CONNECT reply with recovery on.
type recoveryReply struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
}

// connectCollecting sends CONNECT to "/" with auth and reads until the
// reply, returning the events that came before it and the reply.
func connectCollecting(t *testing.T, r *rawClient, auth any) ([]*parser.Message, recoveryReply) {
	t.Helper()
	r.send(&parser.Packet{Type: parser.Connect, Namespace: "/", Payload: auth})
	var before []*parser.Message
	for {
		m, err := r.read()
		require.NoError(t, err)
		if m.Type == parser.Connect {
			var reply recoveryReply
			require.NoError(t, m.Payload.Decode(&reply))
			return before, reply
		}
		require.Equal(t, parser.Event, m.Type, "only events may precede the CONNECT reply")
		before = append(before, m)
	}
}

// readEvent reads the next event, answering pings on the way.
func readEvent(t *testing.T, r *rawClient) *parser.Message {
	t.Helper()
	m, err := r.read()
	require.NoError(t, err)
	require.Equal(t, parser.Event, m.Type)
	return m
}

// eventArgs decodes an event's arguments as strings: the event name first,
// the offset (when there is one) last.
func eventStrings(t *testing.T, m *parser.Message) []string {
	t.Helper()
	out := []string{m.Event}
	for _, a := range m.Args {
		var s string
		require.NoError(t, a.Decode(&s))
		out = append(out, s)
	}
	return out
}

// recoveryServer is a server with recovery on whose sockets join "room".
func recoveryServer(t *testing.T, m mode, opts *ferry.RecoveryOptions) (*testServer, <-chan *ferry.Socket) {
	if opts == nil {
		opts = &ferry.RecoveryOptions{}
	}
	ts := m.serve(t, &ferry.Options{ConnectionStateRecovery: opts})
	joined := sockets(ts.Of("/"))
	ts.OnConnection(func(s *ferry.Socket) {
		if !s.Recovered() {
			s.Join("room")
		}
	})
	return ts, joined
}

func TestRecoveryRestoresSocket(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts, joined := recoveryServer(t, m, nil)
		r := ts.dialRaw(t, m.name)
		before, reply := connectCollecting(t, r, nil)
		require.Empty(t, before)
		require.NotEmpty(t, reply.PID, "the CONNECT reply carries a private id")
		s := recv(t, joined)
		require.False(t, s.Recovered())
		s.SetData("kept")

		require.NoError(t, ts.To("room").Emit("news", "a"))
		require.NoError(t, s.Emit("direct", "b"))
		a, b := eventStrings(t, readEvent(t, r)), eventStrings(t, readEvent(t, r))
		require.Equal(t, []string{"news", "a"}, a[:2])
		require.Equal(t, []string{"direct", "b"}, b[:2])
		require.Len(t, a, 3, "an event that may be replayed carries its offset last")
		require.Len(t, b, 3)
		require.NotEqual(t, a[2], b[2])

		// The connection drops; meanwhile the socket misses events.
		dropped := make(reasons, 1)
		dropped.watch(s)
		require.NoError(t, s.Conn().Close())
		require.Equal(t, "forced close", recv(t, dropped))
		require.NoError(t, ts.To("room").Emit("news", "c"))
		require.NoError(t, ts.Emit("all", "d"))
		require.NoError(t, ts.Of("/").Volatile().Emit("volatile", "never kept"))
		require.NoError(t, ts.To("elsewhere").Emit("other", "not for it"))

		r2 := ts.dialRaw(t, m.name)
		missed, reply2 := connectCollecting(t, r2, map[string]any{"pid": reply.PID, "offset": b[2]})
		require.Equal(t, reply, reply2, "the same socket id and private id")
		require.Len(t, missed, 2)
		require.Equal(t, []string{"news", "c"}, eventStrings(t, missed[0])[:2])
		require.Equal(t, []string{"all", "d"}, eventStrings(t, missed[1])[:2])

		s2 := recv(t, joined)
		require.True(t, s2.Recovered())
		require.Equal(t, s.ID(), s2.ID())
		require.ElementsMatch(t, []string{s.ID(), "room"}, s2.Rooms())
		require.Equal(t, "kept", s2.Data())

		// Live events follow, once.
		require.NoError(t, ts.To("room").Emit("news", "e"))
		require.Equal(t, []string{"news", "e"}, eventStrings(t, readEvent(t, r2))[:2])
	})
}

func TestRecoveryWithoutOffset(t *testing.T) {
	// A client that got no event before its connection dropped sends no
	// offset; socket.io cannot recover it, Ferry does.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts, joined := recoveryServer(t, m, nil)
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	s := recv(t, joined)
	require.NoError(t, s.Conn().Close())
	require.NoError(t, ts.To("room").Emit("news", "missed"))

	r2 := ts.dialRaw(t, m.name)
	missed, reply2 := connectCollecting(t, r2, map[string]any{"pid": reply.PID})
	require.Equal(t, reply, reply2)
	require.Len(t, missed, 1)
	require.Equal(t, []string{"news", "missed"}, eventStrings(t, missed[0])[:2])
	require.True(t, recv(t, joined).Recovered())
}

func TestRecoveryAfterAliasOffset(t *testing.T) {
	// The client's last event had no offset but ended in a string (it asked
	// for an ack): socket.io-client sends that string as its offset.
	// Ferry knows what it stands for.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts, joined := recoveryServer(t, m, nil)
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	s := recv(t, joined)
	require.NoError(t, ts.To("room").Emit("news", "seen"))
	readEvent(t, r)
	go s.EmitWithAck(bounded(t), "question", "looks like an offset")
	q := readEvent(t, r)
	require.True(t, q.HasID)
	require.Equal(t, []string{"question", "looks like an offset"}, eventStrings(t, q))

	require.NoError(t, s.Conn().Close())
	require.NoError(t, ts.To("room").Emit("news", "missed"))
	r2 := ts.dialRaw(t, m.name)
	missed, reply2 := connectCollecting(t, r2, map[string]any{"pid": reply.PID, "offset": "looks like an offset"})
	require.Equal(t, reply, reply2)
	require.Len(t, missed, 1)
	require.Equal(t, []string{"news", "missed"}, eventStrings(t, missed[0])[:2])
	require.True(t, recv(t, joined).Recovered())
}

func TestRecoveryRefused(t *testing.T) {
	// Each case ends in a fresh connection: a new socket id and private id,
	// nothing replayed.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	for _, tc := range []struct {
		name   string
		opts   *ferry.RecoveryOptions
		leave  func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient)
		offset func(seen string) any
	}{
		{"client disconnected", nil,
			func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient) {
				r.send(&parser.Packet{Type: parser.Disconnect, Namespace: "/"})
				require.Eventually(t, func() bool { return !s.Connected() }, within, time.Millisecond)
			}, nil},
		{"server disconnected", nil,
			func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient) { s.Disconnect(true) }, nil},
		{"too much missed", &ferry.RecoveryOptions{MaxMissedPackets: 2},
			func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient) {
				require.NoError(t, s.Conn().Close())
				for range 3 {
					require.NoError(t, ts.To("room").Emit("news", "x"))
				}
			}, nil},
		{"offset no longer kept", &ferry.RecoveryOptions{LogPackets: 2},
			func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient) {
				require.NoError(t, s.Conn().Close())
				for range 3 {
					require.NoError(t, ts.To("elsewhere").Emit("news", "x"))
				}
			}, nil},
		{"unknown offset", nil,
			func(t *testing.T, ts *testServer, s *ferry.Socket, r *rawClient) {
				require.NoError(t, s.Conn().Close())
			},
			func(string) any { return "not an offset" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, joined := recoveryServer(t, m, tc.opts)
			r := ts.dialRaw(t, m.name)
			_, reply := connectCollecting(t, r, nil)
			s := recv(t, joined)
			require.NoError(t, ts.To("room").Emit("news", "seen"))
			seen := eventStrings(t, readEvent(t, r))
			tc.leave(t, ts, s, r)
			require.Eventually(t, func() bool { return !s.Connected() }, within, time.Millisecond)
			var offset any = seen[len(seen)-1]
			if tc.offset != nil {
				offset = tc.offset(seen[len(seen)-1])
			}
			r2 := ts.dialRaw(t, m.name)
			missed, reply2 := connectCollecting(t, r2, map[string]any{"pid": reply.PID, "offset": offset})
			require.Empty(t, missed)
			require.NotEqual(t, reply.SID, reply2.SID)
			require.NotEqual(t, reply.PID, reply2.PID)
			require.False(t, recv(t, joined).Recovered())
		})
	}
}

func TestRecoveryOnce(t *testing.T) {
	// A session is restored once: a second CONNECT with the same private id
	// gets a fresh socket.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts, joined := recoveryServer(t, m, nil)
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	s := recv(t, joined)
	require.NoError(t, s.Conn().Close())
	auth := map[string]any{"pid": reply.PID}
	_, again := connectCollecting(t, ts.dialRaw(t, m.name), auth)
	require.Equal(t, reply.SID, again.SID)
	recv(t, joined)
	_, third := connectCollecting(t, ts.dialRaw(t, m.name), auth)
	require.NotEqual(t, reply.SID, third.SID)
}

func TestRecoveryOffJoinsAsBefore(t *testing.T) {
	// Without recovery the CONNECT reply has no private id and events no
	// offset.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	joined := sockets(ts.Of("/"))
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	require.Empty(t, reply.PID)
	s := recv(t, joined)
	require.NoError(t, s.Emit("direct", "b"))
	require.Equal(t, []string{"direct", "b"}, eventStrings(t, readEvent(t, r)))
}

func TestRecoveryExactlyOnceUnderLoad(t *testing.T) {
	// Events keep coming while the client drops and recovers: across both
	// connections it reads each exactly once, in order.
	run(t, func(t *testing.T, m mode) {
		ts, joined := recoveryServer(t, m, &ferry.RecoveryOptions{MaxMissedPackets: 5000})
		r := ts.dialRaw(t, m.name)
		_, reply := connectCollecting(t, r, nil)
		s := recv(t, joined)
		const total = 600
		go func() {
			for i := range total {
				ts.To("room").Emit("n", i)
			}
		}()
		var got []int
		var offset string
		read := func(m *parser.Message) {
			var n int
			require.NoError(t, m.Args[0].Decode(&n))
			require.NoError(t, m.Args[len(m.Args)-1].Decode(&offset))
			got = append(got, n)
		}
		for len(got) < 100 {
			read(readEvent(t, r))
		}
		require.NoError(t, s.Conn().Close())
		r2 := ts.dialRaw(t, m.name)
		missed, reply2 := connectCollecting(t, r2, map[string]any{"pid": reply.PID, "offset": offset})
		require.Equal(t, reply.SID, reply2.SID)
		for _, e := range missed {
			read(e)
		}
		for got[len(got)-1] != total-1 {
			read(readEvent(t, r2))
		}
		want := make([]int, total)
		for i := range want {
			want[i] = i
		}
		require.Equal(t, want, got)
	})
}

func TestRecoveryOptionsWithDefaults(t *testing.T) {
	require.Nil(t, ferry.NewServer(nil).Recovery())
	srv := ferry.NewServer(&ferry.Options{ConnectionStateRecovery: &ferry.RecoveryOptions{MaxMissedPackets: 7}})
	got := srv.Recovery()
	require.NotNil(t, got)
	require.Equal(t, 2*time.Minute, got.MaxDisconnectionDuration)
	require.Equal(t, 7, got.MaxMissedPackets)
	require.Equal(t, 1<<20, got.MaxMissedBytes)
	got.MaxMissedPackets = 9
	require.Equal(t, 7, srv.Recovery().MaxMissedPackets, "a copy")
}

func TestRecoveryEmptyOffsetIsFresh(t *testing.T) {
	// The client's last event ended in "" without being an offset, and
	// socket.io-client sends that as its offset: the server cannot know
	// which event it was, so the client gets a fresh session rather than
	// events it already has.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts, joined := recoveryServer(t, m, nil)
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	s := recv(t, joined)
	require.NoError(t, ts.To("room").Emit("news", "seen"))
	readEvent(t, r)
	require.NoError(t, s.Volatile().Emit("vol", ""))
	readEvent(t, r)
	require.NoError(t, s.Conn().Close())
	require.NoError(t, ts.To("room").Emit("news", "missed"))
	missed, reply2 := connectCollecting(t, ts.dialRaw(t, m.name), map[string]any{"pid": reply.PID, "offset": ""})
	require.Empty(t, missed, "nothing replayed twice")
	require.NotEqual(t, reply.SID, reply2.SID)
	require.False(t, recv(t, joined).Recovered())
}
