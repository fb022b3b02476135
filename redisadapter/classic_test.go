package redisadapter_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// cluster is two Ferry servers on one Redis, with one Go client on each.
type cluster struct {
	a, b   *ferryServer
	ca, cb *client.Socket
}

func newCluster(t *testing.T, factory func() *redisadapter.Factory) cluster {
	return newClusterOf(t, newFerry(t, factory(), nil), newFerry(t, factory(), nil))
}

// newClusterOf connects a Go client to each of two servers.
func newClusterOf(t *testing.T, a, b *ferryServer) cluster {
	waitServers(t, a, "/", 2)
	waitServers(t, b, "/", 2)
	return cluster{a: a, b: b, ca: goClient(t, a, "/"), cb: goClient(t, b, "/")}
}

func TestGoCluster(t *testing.T) {
	r := startRedis(t)
	// One factory may serve several servers of a process: each gets its
	// own subscription connection, and counts as a server.
	shared := redisadapter.New(r.Client(t), &redisadapter.Options{Key: "shared"})
	modes := map[string]func() *redisadapter.Factory{
		"classic-one-factory": func() *redisadapter.Factory { return shared },
		"classic":             func() *redisadapter.Factory { return redisadapter.New(r.Client(t), nil) },
		"classic-specific-response": func() *redisadapter.Factory {
			return redisadapter.New(r.Client(t), &redisadapter.Options{Key: "specific", PublishOnSpecificResponseChannel: true})
		},
		"sharded": func() *redisadapter.Factory { return redisadapter.NewSharded(r.Client(t), nil) },
		"sharded-static": func() *redisadapter.Factory {
			return redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{ChannelPrefix: "static", SubscriptionMode: redisadapter.Static})
		},
		"sharded-dynamic-private": func() *redisadapter.Factory {
			return redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{ChannelPrefix: "private", SubscriptionMode: redisadapter.DynamicPrivate})
		},
	}
	// In the dynamic modes a server subscribes to a room's channel when
	// the room appears on it; the test waits for that.
	roomChannels := map[string]string{"sharded": "socket.io#/#room#", "sharded-dynamic-private": "private#/#room#"}
	for name, factory := range modes {
		t.Run(name, func(t *testing.T) { testGoCluster(t, r, factory, roomChannels[name]) })
	}
}

// waitShardSubscribers waits until channel has n sharded subscribers.
func waitShardSubscribers(t testing.TB, r *redisServer, channel string, n int) {
	t.Helper()
	c := r.Client(t)
	require.Eventually(t, func() bool {
		m, err := c.PubSubShardNumSub(bounded(t), channel).Result()
		return err == nil && m[channel] == int64(n)
	}, within, time.Millisecond, "%s never had %d subscribers", channel, n)
}

func testGoCluster(t *testing.T, r *redisServer, factory func() *redisadapter.Factory, roomChannel string) {
	testGoClusterOf(t, r, newCluster(t, factory), roomChannel)
}

func testGoClusterOf(t *testing.T, r *redisServer, c cluster, roomChannel string) {
	ctx := bounded(t)
	gotA, gotB := events(c.ca, "news"), events(c.cb, "news")
	sa := serverSocket(t, c.a, "/", c.ca)
	sb := serverSocket(t, c.b, "/", c.cb)

	// Everyone, from either server, exactly once: the marker that follows
	// proves no copy is still on its way.
	require.NoError(t, c.a.Emit("news", "all-1"))
	require.NoError(t, c.a.Emit("news", "marker-1"))
	for _, ch := range []<-chan string{gotA, gotB} {
		require.Equal(t, "all-1", recv(t, ch))
		require.Equal(t, "marker-1", recv(t, ch))
	}

	// A room on the other server only.
	sb.Join("room")
	if roomChannel != "" {
		waitShardSubscribers(t, r, roomChannel, 1)
	}
	require.NoError(t, c.a.To("room").Emit("news", "room-1"))
	require.NoError(t, c.a.Emit("news", "marker-2"))
	require.Equal(t, "room-1", recv(t, gotB))
	require.Equal(t, "marker-2", recv(t, gotB))
	require.Equal(t, "marker-2", recv(t, gotA))

	// Except across servers, and to one socket by id.
	sa.Join("room")
	require.NoError(t, c.a.To("room").Except(sb.ID()).Emit("news", "except-1"))
	require.NoError(t, c.b.To(sa.ID()).Emit("news", "direct-1"))
	require.NoError(t, c.b.Emit("news", "marker-3"))
	require.Equal(t, "except-1", recv(t, gotA))
	require.Equal(t, "direct-1", recv(t, gotA))
	require.Equal(t, "marker-3", recv(t, gotA))
	require.Equal(t, "marker-3", recv(t, gotB))

	// Acks from both servers' clients.
	for _, cs := range []*client.Socket{c.ca, c.cb} {
		cs.On("ask", func(e *client.Event) {
			var n int
			_ = e.Decode(&n)
			_ = e.Ack(n*10, e.Socket().ID())
		})
	}
	acks, err := c.a.Of("/").Timeout(5*time.Second).EmitWithAck(ctx, "ask", 4)
	require.NoError(t, err)
	require.Len(t, acks, 2)
	for _, a := range acks {
		var n int
		require.NoError(t, a.Decode(&n))
		require.Equal(t, 40, n)
	}
	// Without a deadline, too.
	acks, err = c.b.To("room").EmitWithAck(ctx, "ask", 1)
	require.NoError(t, err)
	require.Len(t, acks, 2)

	// fetchSockets from either side, with handshakes.
	for _, s := range []*ferryServer{c.a, c.b} {
		found, err := s.Of("/").In("room").FetchSockets(ctx)
		require.NoError(t, err)
		ids := []string{}
		for _, f := range found {
			ids = append(ids, f.ID)
			require.Contains(t, f.Rooms, "room")
			require.NotNil(t, f.Handshake)
			require.Contains(t, f.Handshake.URL, "EIO=4")
			require.NotEmpty(t, f.Handshake.Address)
			require.WithinDuration(t, time.Now(), f.Handshake.Time, time.Minute)
		}
		require.ElementsMatch(t, []string{sa.ID(), sb.ID()}, ids)
	}

	// Remote socket joins and leaves.
	require.NoError(t, c.a.Of("/").In(sb.ID()).SocketsJoin(ctx, "joined"))
	require.Eventually(t, func() bool { return slices.Contains(sb.Rooms(), "joined") }, within, time.Millisecond)
	rooms, err := c.a.Of("/").Rooms(ctx)
	require.NoError(t, err)
	require.Subset(t, rooms, []string{"room", "joined", sa.ID(), sb.ID()})
	require.NoError(t, c.a.Of("/").In("joined").SocketsLeave(ctx, "joined"))
	require.Eventually(t, func() bool { return !slices.Contains(sb.Rooms(), "joined") }, within, time.Millisecond)

	// Server-side events, with and without ack.
	gotSSE := make(chan string, 4)
	c.b.Of("/").OnServerSideEmit("hello", func(e *ferry.Event) {
		var s string
		_ = e.Decode(&s)
		gotSSE <- s
		if e.WantsAck() {
			_ = e.Ack("b says " + s)
		}
	})
	require.NoError(t, c.a.Of("/").ServerSideEmit(ctx, "hello", "one"))
	require.Equal(t, "one", recv(t, gotSSE))
	replies, err := c.a.Of("/").ServerSideEmitWithAck(ctx, "hello", "two")
	require.NoError(t, err)
	require.Equal(t, "two", recv(t, gotSSE))
	require.Len(t, replies, 1)
	var reply string
	require.NoError(t, replies[0].Decode(&reply))
	require.Equal(t, "b says two", reply)

	// Disconnect a socket of the other server.
	gone := make(chan client.DisconnectReason, 1)
	c.cb.OnDisconnect(func(r client.DisconnectReason) { gone <- r })
	require.NoError(t, c.a.Of("/").In(sb.ID()).DisconnectSockets(ctx, false))
	require.Equal(t, client.DisconnectReason("io server disconnect"), recv(t, gone))
}
