package redisadapter_test

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// mixed is a cluster of two Ferry servers (A on msgpack, B on JSON) and
// one Node socket.io server, on one Redis, with an official client on
// each.
type mixed struct {
	a, b *ferryServer
	peer *nodePeer
	r    *redisServer
	// sharded is set for the ClusterAdapter protocols (sharded and
	// streams); dynamic for the sharded modes that subscribe to rooms.
	sharded, dynamic bool
	// sockets on their servers, by client name
	sa, sb *ferry.Socket
}

func newMixed(t *testing.T, r *redisServer, mode, subscription, nodeParser string, factory func() *redisadapter.Factory) *mixed {
	t.Helper()
	m := newMixedOf(t, r, []string{"MODE=" + mode, "SUBSCRIPTION=" + subscription, "NODE_PARSER=" + nodeParser},
		func(codec parser.Codec) *ferryServer { return newFerry(t, factory(), codec) })
	m.sharded, m.dynamic = mode == "sharded", mode == "sharded" && subscription != "static"
	return m
}

// newMixedOf starts the Ferry servers that server makes, and the Node
// server with env (see peer.mjs).
func newMixedOf(t *testing.T, r *redisServer, env []string, server func(parser.Codec) *ferryServer) *mixed {
	t.Helper()
	a := server(parser.Msgpack())
	b := server(parser.JSON())
	for _, s := range []*ferryServer{a, b} {
		s.Of("/").OnConnection(func(s *ferry.Socket) { s.SetData(map[string]any{"lang": "go"}) })
		s.Of("/").OnServerSideEmit("hello", func(e *ferry.Event) {
			var arg string
			_ = e.Decode(&arg)
			if e.WantsAck() {
				_ = e.Ack("go says " + arg)
			}
		})
	}
	peer := startPeerEnv(t, r, env,
		ferryTarget{Name: "ferryA", URL: a.URL, Parser: "msgpack"},
		ferryTarget{Name: "ferryB", URL: b.URL, Parser: "json"})
	waitServers(t, a, "/", 3)
	waitServers(t, b, "/", 3)
	m := &mixed{a: a, b: b, peer: peer, r: r}
	m.sa = a.Of("/").Socket(peer.Clients["ferryA"])
	m.sb = b.Of("/").Socket(peer.Clients["ferryB"])
	require.NotNil(t, m.sa)
	require.NotNil(t, m.sb)
	return m
}

var clientNames = []string{"node", "ferryA", "ferryB"}

// markers sends "news:<name>-<server>" from every server to everyone, so
// that each client gets one marker from each server. A server's marker
// follows what it sent before to the same client, so once a client has
// the three markers, nothing sent before them is still on its way.
func (m *mixed) markers(t *testing.T, name string) []string {
	t.Helper()
	require.NoError(t, m.a.Emit("news", name+"-a"))
	require.NoError(t, m.b.Emit("news", name+"-b"))
	m.peer.do("emit", map[string]any{"event": "news", "args": []any{name + "-node"}})
	return []string{"news:" + name + "-a", "news:" + name + "-b", "news:" + name + "-node"}
}

// expect sends markers, then asserts that each client receives exactly
// what want lists for it, plus the markers, each once, in any order
// between servers.
func (m *mixed) expect(t *testing.T, name string, want map[string][]string) {
	t.Helper()
	markers := m.markers(t, name)
	for _, c := range clientNames {
		all := append(slices.Clone(want[c]), markers...)
		var got []string
		for range all {
			got = append(got, m.peer.nextStr(c))
		}
		require.ElementsMatch(t, all, got, "client %s", c)
	}
}

func TestInteropClassic(t *testing.T) {
	r := startRedis(t)
	for _, np := range []string{"json", "msgpack"} {
		t.Run("node-"+np, func(t *testing.T) {
			m := newMixed(t, r, "classic", "", np, func() *redisadapter.Factory {
				return redisadapter.New(r.Client(t), nil)
			})
			testInterop(t, m)
		})
	}
}

func TestInteropSharded(t *testing.T) {
	r := startRedis(t)
	for _, mode := range []redisadapter.SubscriptionMode{redisadapter.Dynamic, redisadapter.Static, redisadapter.DynamicPrivate} {
		t.Run(mode.String(), func(t *testing.T) {
			m := newMixed(t, r, "sharded", mode.String(), "json", func() *redisadapter.Factory {
				return redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{SubscriptionMode: mode})
			})
			testInterop(t, m)
		})
	}
}

func testInterop(t *testing.T, m *mixed) {
	ctx := bounded(t)
	p := m.peer
	nodeSid := p.Clients["node"]

	// Everyone, from each server, exactly once.
	m.expect(t, "all", nil)

	// Binary data and Dates cross in both directions.
	when := time.UnixMilli(1700000000123).UTC()
	require.NoError(t, m.a.Emit("bin", []byte{1, 2, 3}, when))
	for _, c := range clientNames {
		e := p.event(c)
		require.Equal(t, "bin", e.Event)
		require.JSONEq(t, `{"$bin":"010203"}`, string(e.Args[0]), "client %s", c)
		require.JSONEq(t, `"2023-11-14T22:13:20.123Z"`, string(e.Args[1]), "client %s", c)
	}
	p.do("emit", map[string]any{"event": "bin", "args": []any{map[string]any{"$bin": "0405"}, map[string]any{"$date": 1700000000123}}})
	for _, c := range clientNames {
		e := p.event(c)
		require.Equal(t, "bin", e.Event)
		require.JSONEq(t, `{"$bin":"0405"}`, string(e.Args[0]), "client %s", c)
		require.JSONEq(t, `"2023-11-14T22:13:20.123Z"`, string(e.Args[1]), "client %s", c)
	}

	// socketsJoin across languages: Ferry puts the Node client in a room,
	// Node puts Ferry B's client in it; A's joins locally.
	require.NoError(t, m.a.Of("/").In(nodeSid).SocketsJoin(ctx, "room"))
	p.do("socketsJoin", map[string]any{"to": []string{m.sb.ID()}, "rooms": []string{"room"}})
	m.sa.Join("room")
	if m.dynamic {
		waitShardSubscribers(t, m.r, "socket.io#/#room#", 3)
	}
	require.Eventually(t, func() bool { return slices.Contains(m.sb.Rooms(), "room") }, within, time.Millisecond)
	require.Eventually(t, func() bool {
		var rooms []string
		decodeField(t, p.do("localRooms", map[string]any{"sid": nodeSid}), "rooms", &rooms)
		return slices.Contains(rooms, "room")
	}, within, 5*time.Millisecond)

	// A room broadcast from each server, with except across servers.
	require.NoError(t, m.a.To("room").Except(nodeSid).Emit("news", "a-room"))
	require.NoError(t, m.b.To("room").Except(m.sa.ID()).Emit("news", "b-room"))
	p.do("emit", map[string]any{"to": []string{"room"}, "except": []string{m.sb.ID()}, "event": "news", "args": []any{"node-room"}})
	m.expect(t, "room", map[string][]string{
		"node":   {"news:b-room", "news:node-room"},
		"ferryA": {"news:a-room", "news:node-room"},
		"ferryB": {"news:a-room", "news:b-room"},
	})

	// To one socket of another server, by id.
	require.NoError(t, m.b.To(nodeSid).Emit("news", "to-node"))
	p.do("emit", map[string]any{"to": []string{m.sa.ID()}, "event": "news", "args": []any{"to-a"}})
	m.expect(t, "direct", map[string][]string{"node": {"news:to-node"}, "ferryA": {"news:to-a"}})

	// Acks of a broadcast across servers, asked from Ferry and from Node.
	acks, err := m.a.To("room").Timeout(5*time.Second).EmitWithAck(ctx, "ask", "q1")
	require.NoError(t, err)
	var from []string
	for _, a := range acks {
		var v struct {
			From string `json:"from"`
			Got  string `json:"got"`
		}
		require.NoError(t, a.Decode(&v))
		require.Equal(t, "q1", v.Got)
		from = append(from, v.From)
	}
	require.ElementsMatch(t, clientNames, from)
	for _, c := range clientNames {
		require.Equal(t, "ask:q1", p.nextStr(c))
	}
	reply := p.do("emitWithAck", map[string]any{"to": []string{"room"}, "event": "ask", "args": []any{"q2"}, "timeout": 4000})
	var nodeAcks []struct{ From, Got string }
	decodeField(t, reply, "acks", &nodeAcks)
	from = nil
	for _, a := range nodeAcks {
		require.Equal(t, "q2", a.Got)
		from = append(from, a.From)
	}
	require.ElementsMatch(t, clientNames, from)
	for _, c := range clientNames {
		require.Equal(t, "ask:q2", p.nextStr(c))
	}

	// fetchSockets from Ferry sees Node's socket, its data and handshake.
	found, err := m.b.Of("/").In("room").FetchSockets(ctx)
	require.NoError(t, err)
	byID := map[string]*ferry.RemoteSocket{}
	for _, f := range found {
		byID[f.ID] = f
	}
	require.Len(t, byID, 3)
	ns := byID[nodeSid]
	require.NotNil(t, ns)
	require.Equal(t, map[string]any{"lang": "node", "n": int64(1)}, ns.Data)
	require.Contains(t, ns.Rooms, "room")
	require.Contains(t, ns.Handshake.URL, "EIO=4")
	require.Equal(t, "4", ns.Handshake.Query.Get("EIO"))
	require.NotEmpty(t, ns.Handshake.Host)
	require.WithinDuration(t, time.Now(), ns.Handshake.Time, time.Minute)
	require.Equal(t, map[string]any{"lang": "go"}, byID[m.sa.ID()].Data)

	// A fetched socket of the Node server answers an ack through the
	// cluster.
	ack, err := ns.EmitWithAck(ctx, "ask", "q3")
	require.NoError(t, err)
	var v struct {
		From string `json:"from"`
	}
	require.NoError(t, ack.Decode(&v))
	require.Equal(t, "node", v.From)
	require.Equal(t, "ask:q3", p.nextStr("node"))

	// ... and from Node sees Ferry's.
	var nodeFound []struct {
		ID      string         `json:"id"`
		Rooms   []string       `json:"rooms"`
		Data    map[string]any `json:"data"`
		URL     string         `json:"url"`
		Address string         `json:"address"`
		Issued  int64          `json:"issued"`
		Query   map[string]any `json:"query"`
		Headers map[string]any `json:"headers"`
		Auth    map[string]any `json:"auth"`
	}
	decodeField(t, p.do("fetch", map[string]any{"to": []string{"room"}}), "sockets", &nodeFound)
	require.Len(t, nodeFound, 3)
	sort.Slice(nodeFound, func(i, j int) bool { return nodeFound[i].ID < nodeFound[j].ID })
	for _, s := range nodeFound {
		require.Contains(t, s.Rooms, "room")
		require.Contains(t, s.URL, "EIO=4")
		require.Equal(t, "4", s.Query["EIO"])
		require.NotEmpty(t, s.Headers["host"])
		require.NotZero(t, s.Issued)
		if s.ID == m.sa.ID() {
			require.Equal(t, map[string]any{"lang": "go"}, s.Data)
			require.Equal(t, "127.0.0.1", s.Address)
		}
	}

	// Rooms from Ferry include the other servers' rooms; Node's allRooms
	// (classic only) includes Ferry's.
	rooms, err := m.a.Of("/").Rooms(ctx)
	require.NoError(t, err)
	require.Subset(t, rooms, []string{"room", nodeSid, m.sa.ID(), m.sb.ID()})
	if !m.sharded {
		var nodeRooms []string
		decodeField(t, p.do("allRooms", nil), "rooms", &nodeRooms)
		require.Subset(t, nodeRooms, []string{"room", nodeSid, m.sa.ID(), m.sb.ID()})
	}

	// socketsLeave from Ferry for Node's socket, then from Node for every
	// server's.
	require.NoError(t, m.b.Of("/").In(nodeSid).SocketsLeave(ctx, "room"))
	require.Eventually(t, func() bool {
		var rooms []string
		decodeField(t, p.do("localRooms", map[string]any{"sid": nodeSid}), "rooms", &rooms)
		return !slices.Contains(rooms, "room")
	}, within, 5*time.Millisecond)
	p.do("socketsLeave", map[string]any{"to": []string{"room"}, "rooms": []string{"room"}})
	require.Eventually(t, func() bool {
		return !slices.Contains(m.sa.Rooms(), "room") && !slices.Contains(m.sb.Rooms(), "room")
	}, within, time.Millisecond)

	// Server-side events with acks, from either language.
	replies, err := m.a.Of("/").ServerSideEmitWithAck(ctx, "hello", "x")
	require.NoError(t, err)
	var said []string
	for _, r := range replies {
		var s string
		require.NoError(t, r.Decode(&s))
		said = append(said, s)
	}
	require.ElementsMatch(t, []string{"go says x", "node says x"}, said)
	require.Equal(t, "hello:x", p.nextStr("sse"))
	var nodeSaid []string
	decodeField(t, p.do("serverSideEmit", map[string]any{"event": "hello", "args": []any{"y"}, "ack": true, "timeout": 4000}), "acks", &nodeSaid)
	require.ElementsMatch(t, []string{"go says y", "go says y"}, nodeSaid)
	require.NoError(t, m.b.Of("/").ServerSideEmit(ctx, "hello", "z"))
	require.Equal(t, "hello:z", p.nextStr("sse"))

	// disconnectSockets across languages.
	p.do("disconnectSockets", map[string]any{"to": []string{m.sb.ID()}})
	require.Equal(t, "io server disconnect", recv(t, p.gone["ferryB"]))
	require.NoError(t, m.a.Of("/").In(nodeSid).DisconnectSockets(ctx, false))
	require.Equal(t, "io server disconnect", recv(t, p.gone["node"]))
}
