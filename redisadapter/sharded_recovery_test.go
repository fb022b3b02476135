package redisadapter_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// TestShardedRecoverySubscribes: with connection state recovery on one
// server (in its memory) and the sharded adapter, a socket restored into a
// room that no other socket of its server is in gets the room's channel
// subscribed again, so that broadcasts from other servers to the room
// reach it.
func TestShardedRecoverySubscribes(t *testing.T) {
	r := startRedis(t)
	const room, channel = "lonely", "recovery#/#lonely#"
	factory := func() *redisadapter.Factory {
		return redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{ChannelPrefix: "recovery"})
	}
	srv := ferry.NewServer(&ferry.Options{Adapter: factory().Adapter, ConnectionStateRecovery: &ferry.RecoveryOptions{}})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	other := newFerry(t, factory(), nil)
	waitServers(t, other, "/", 2)

	joined := make(chan *ferry.Socket, 2)
	srv.OnConnection(func(s *ferry.Socket) {
		if !s.Recovered() {
			s.Join(room)
		}
		joined <- s
	})
	c, err := client.Dial(bounded(t), hs.URL, &client.Options{
		Transports: []string{"websocket"}, ReconnectionDelay: time.Millisecond, ReconnectionDelayMax: time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	cs := c.Socket("/", nil)
	news := events(cs, "news")
	require.NoError(t, cs.Connect(bounded(t)))
	s := recv(t, joined)
	waitShardSubscribers(t, r, channel, 1)

	// The connection drops: the room leaves the server, then comes back
	// with the recovered socket.
	require.NoError(t, s.Conn().Close())
	restored := recv(t, joined)
	require.True(t, restored.Recovered())
	require.ElementsMatch(t, []string{restored.ID(), room}, restored.Rooms())
	waitShardSubscribers(t, r, channel, 1)
	require.NoError(t, other.To(room).Emit("news", "after"))
	require.Equal(t, "after", recv(t, news))
}
