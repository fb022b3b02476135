package ferry_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// recorder keeps every event a client socket receives, in order, as
// "name:first argument".
type recorder struct {
	t  *testing.T
	ch chan string
}

func record(t *testing.T, s *client.Socket) *recorder {
	r := &recorder{t: t, ch: make(chan string, 1024)}
	s.OnAny(func(e *client.Event) {
		var first any
		if len(e.Args) > 0 {
			if err := e.Decode(&first); err != nil {
				first = "undecodable: " + err.Error()
			}
		}
		r.ch <- e.Name + ":" + fmt.Sprint(first)
	})
	return r
}

// until returns what arrived before the event "end".
func (r *recorder) until() []string {
	r.t.Helper()
	var got []string
	for {
		s := recv(r.t, r.ch)
		if s == "end:<nil>" {
			return got
		}
		got = append(got, s)
	}
}

// TestBroadcastTargets checks who receives each kind of broadcast: every
// socket selected gets it exactly once, in emit order, and no one else.
func TestBroadcastTargets(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		names := []string{"A", "B", "C", "D", "E"}
		rooms := map[string][]string{"A": {"r1"}, "B": {"r1", "r2"}, "C": {"r2"}}
		recs := map[string]*recorder{}
		socks := map[string]*ferry.Socket{}
		ts.Of("/other")
		for _, name := range names {
			nsp := "/"
			if name == "E" {
				nsp = "/other"
			}
			var rec *recorder
			cs := ts.connect(t, nsp, nil, func(cs *client.Socket) { rec = record(t, cs) })
			recs[name] = rec
			socks[name] = ts.socket(t, cs)
			socks[name].Join(rooms[name]...)
		}
		sB := socks["B"]
		main := ts.Of("/")

		emit := func(err error) { require.NoError(t, err) }
		emit(ts.Emit("b", "all"))
		emit(ts.To("r1", "r2").Emit("b", "r1|r2"))
		emit(main.In("r1").Except("r2").Emit("b", "r1-r2"))
		emit(ts.Except("r1").Emit("b", "!r1"))
		emit(ts.Except("r2").In("r1").Emit("b", "r1-r2 again"))
		emit(main.Except("r1", "r2").Emit("b", "!r1!r2"))
		emit(sB.Broadcast().Emit("b", "not B"))
		emit(sB.To("r1").Emit("b", "r1 from B"))
		emit(sB.In("r2", "r1").Emit("b", "r1|r2 from B"))
		emit(sB.Except("r2").Emit("b", "!r2 from B"))
		emit(ts.Of("/other").Emit("b", "other"))
		emit(main.Local().Emit("b", "local"))
		emit(main.To(socks["D"].ID()).Emit("b", "D's own room"))
		emit(ts.To("nobody").Emit("b", "nobody"))
		emit(ts.To("r2").Emit("bin", []byte{1, 2, 3}))
		// A Broadcast is a value: deriving two from one shares nothing.
		base := ts.To("r1")
		withR2, withNobody := base.To("r2"), base.To("nobody")
		emit(withNobody.Emit("b", "r1|nobody"))
		emit(withR2.Emit("b", "r1|r2 again"))
		emit(base.Emit("b", "r1 again"))
		for _, name := range names {
			require.NoError(t, socks[name].Emit("end"))
		}

		want := map[string][]string{
			"A": {"all", "r1|r2", "r1-r2", "r1-r2 again", "not B", "r1 from B", "r1|r2 from B", "!r2 from B", "local", "r1|nobody", "r1|r2 again", "r1 again"},
			"B": {"all", "r1|r2", "local", "bin", "r1|nobody", "r1|r2 again", "r1 again"},
			"C": {"all", "r1|r2", "!r1", "not B", "r1|r2 from B", "local", "bin", "r1|r2 again"},
			"D": {"all", "!r1", "!r1!r2", "not B", "!r2 from B", "local", "D's own room"},
			"E": {"other"},
		}
		for _, name := range names {
			var expect []string
			for _, label := range want[name] {
				if label == "bin" {
					expect = append(expect, "bin:[1 2 3]")
				} else {
					expect = append(expect, "b:"+label)
				}
			}
			require.Equal(t, expect, recs[name].until(), "client %s", name)
		}
	})
}

func TestBroadcastAcks(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		answer := func(name string) func(*client.Socket) {
			return func(cs *client.Socket) {
				cs.On("q", func(e *client.Event) {
					var n int
					assert.NoError(t, e.Decode(&n))
					assert.NoError(t, e.Ack(name, n))
				})
			}
		}
		a := ts.connect(t, "/", nil, answer("a"))
		ts.connect(t, "/", nil, answer("b"))
		ts.connect(t, "/", nil, answer("c"))
		mute := ts.connect(t, "/", nil) // never answers
		sA := ts.socket(t, a)
		sMute := ts.socket(t, mute)
		sA.Join("answering")
		ts.socket(t, mute).Join("answering")

		names := func(acks []ferry.Args) []string {
			var out []string
			for _, ack := range acks {
				var name string
				var n int
				require.NoError(t, ack.Decode(&name, &n))
				require.Equal(t, 7, n)
				out = append(out, name)
			}
			return out
		}

		acks, err := ts.Of("/").Except(sMute.ID()).Timeout(within).EmitWithAck(context.Background(), "q", 7)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"a", "b", "c"}, names(acks))

		acks, err = sA.Broadcast().Except(sMute.ID()).EmitWithAck(bounded(t), "q", 7)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"b", "c"}, names(acks), "the sender is left out")

		// One target never answers: the others' acks come with an error.
		acks, err = ts.Of("/").Except().Timeout(50*time.Millisecond).EmitWithAck(context.Background(), "q", 7)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ElementsMatch(t, []string{"a", "b", "c"}, names(acks))
		require.Contains(t, err.Error(), "3 of 4")

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		acks, err = ts.To("answering").EmitWithAck(ctx, "q", 7)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, []string{"a"}, names(acks))

		// No targets: nothing to wait for.
		acks, err = ts.To("nobody").EmitWithAck(bounded(t), "q", 7)
		require.NoError(t, err)
		require.Empty(t, acks)
	})
}

// TestDynamicBroadcastAcks collects acks across the children of a dynamic
// namespace.
func TestDynamicBroadcastAcks(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		parent := ts.OfRegexp(regexp.MustCompile(`^/game-\d$`))
		for _, name := range []string{"/game-1", "/game-2", "/game-2"} {
			ts.connect(t, name, nil, func(cs *client.Socket) {
				cs.On("where", func(e *client.Event) { e.Ack(cs.Namespace()) })
			})
		}
		acks, err := parent.EmitWithAck(bounded(t), "where")
		require.NoError(t, err)
		var got []string
		for _, ack := range acks {
			var nsp string
			require.NoError(t, ack.Decode(&nsp))
			got = append(got, nsp)
		}
		require.ElementsMatch(t, []string{"/game-1", "/game-2", "/game-2"}, got)
	})
}

func TestFetchSockets(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		var clients []*client.Socket
		var serverSide []*ferry.Socket
		for i := range 3 {
			cs := ts.connect(t, "/", map[string]int{"n": i}, func(cs *client.Socket) {
				cs.On("q", func(e *client.Event) { e.Ack("answer") })
			})
			clients = append(clients, cs)
			s := ts.socket(t, cs)
			s.SetData(fmt.Sprint("data-", i))
			serverSide = append(serverSide, s)
		}
		serverSide[0].Join("r", "x")
		serverSide[1].Join("r")
		nsp := ts.Of("/")

		all, err := nsp.FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Len(t, all, 3)

		inR, err := nsp.In("r").FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Len(t, inR, 2)
		slices.SortFunc(inR, func(a, b *ferry.RemoteSocket) int {
			return slices.Index(serverSide, nsp.Socket(a.ID)) - slices.Index(serverSide, nsp.Socket(b.ID))
		})
		for i, rs := range inR {
			require.Equal(t, clients[i].ID(), rs.ID)
			require.Equal(t, fmt.Sprint("data-", i), rs.Data)
			require.ElementsMatch(t, serverSide[i].Rooms(), rs.Rooms)
			require.Contains(t, rs.Rooms, "r")
			var auth map[string]int
			require.NoError(t, rs.Handshake.DecodeAuth(&auth))
			require.Equal(t, i, auth["n"])
		}

		notR, err := nsp.Except("r").FetchSockets(bounded(t))
		require.NoError(t, err)
		require.Len(t, notR, 1)
		require.Equal(t, clients[2].ID(), notR[0].ID)

		// RemoteSocket acts on the socket it describes.
		rs := inR[0]
		hi := events(clients[0], "hi")
		other := events(clients[1], "hi")
		require.NoError(t, rs.Emit("hi", 1))
		require.Equal(t, 1, arg[int](t, recv(t, hi), 0))
		reply, err := rs.EmitWithAck(bounded(t), "q")
		require.NoError(t, err)
		require.Equal(t, "answer", decodeRaw[string](t, reply[0]))
		short, cancel := context.WithTimeout(bounded(t), 30*time.Millisecond)
		defer cancel()
		_, err = rs.EmitWithAck(short, "unanswered")
		require.ErrorIs(t, err, context.DeadlineExceeded)

		rs.Join(bounded(t), "y", "z")
		require.ElementsMatch(t, []string{rs.ID, "r", "x", "y", "z"}, serverSide[0].Rooms())
		rs.Leave(bounded(t), "x", "y")
		require.ElementsMatch(t, []string{rs.ID, "r", "z"}, serverSide[0].Rooms())

		gone := clientReasons(clients[0])
		rs.Disconnect(bounded(t), false)
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone))
		require.False(t, serverSide[0].Connected())
		_, err = rs.EmitWithAck(bounded(t), "q")
		require.ErrorIs(t, err, ferry.ErrDisconnected, "no socket left to answer")
		require.NoError(t, rs.Emit("hi", 2), "emitting to a socket that is gone reaches no one")
		require.NoError(t, inR[1].Emit("hi", 3))
		require.Equal(t, 3, arg[int](t, recv(t, other), 0))
	})
}

func TestSocketsJoinLeaveDisconnect(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		var clients []*client.Socket
		var socks []*ferry.Socket
		for range 3 {
			cs := ts.connect(t, "/", nil)
			clients = append(clients, cs)
			socks = append(socks, ts.socket(t, cs))
		}
		nsp := ts.Of("/")
		memory, ok := nsp.Adapter().(*ferry.MemoryAdapter)
		require.True(t, ok, "the default adapter is the memory adapter")
		socks[0].Join("r")
		socks[1].Join("r")

		nsp.In("r").SocketsJoin(bounded(t), "vip", "gold")
		nsp.SocketsJoin(bounded(t), "all")
		require.ElementsMatch(t, []string{socks[0].ID(), "r", "vip", "gold", "all"}, socks[0].Rooms())
		require.ElementsMatch(t, []string{socks[1].ID(), "r", "vip", "gold", "all"}, socks[1].Rooms())
		require.ElementsMatch(t, []string{socks[2].ID(), "all"}, socks[2].Rooms())
		require.Subset(t, adapterRooms(t, memory), []string{"r", "vip", "gold", "all"})

		nsp.In("vip").Except(socks[1].ID()).SocketsLeave(bounded(t), "gold", "all")
		require.ElementsMatch(t, []string{socks[0].ID(), "r", "vip"}, socks[0].Rooms())
		nsp.SocketsLeave(bounded(t), "all")
		require.ElementsMatch(t, []string{socks[1].ID(), "r", "vip", "gold"}, socks[1].Rooms())
		require.NotContains(t, adapterRooms(t, memory), "all", "an empty room is forgotten")

		gone := []<-chan client.DisconnectReason{clientReasons(clients[0]), clientReasons(clients[1]), clientReasons(clients[2])}
		nsp.In("vip").DisconnectSockets(bounded(t), false)
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone[0]))
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone[1]))
		require.True(t, socks[2].Connected())
		require.NotContains(t, adapterRooms(t, memory), "vip")

		// A graceful close in the middle of an upgrade aborts the probe,
		// and what is queued behind the paused long-poll can be lost:
		// wait for the upgrade to finish first.
		m.upgraded(t, socks[2])
		nsp.DisconnectSockets(bounded(t), true)
		require.Equal(t, client.ReasonServerDisconnect, recv(t, gone[2]))
		select {
		case <-socks[2].Conn().Done():
		case <-time.After(within):
			t.Fatal("DisconnectSockets(true) left the connection open")
		}
		require.Empty(t, adapterRooms(t, memory))
	})
}
