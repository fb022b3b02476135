package redisadapter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/redisadapter"
)

// pubsubConnections returns the number of connections of r in pub/sub
// mode.
func pubsubConnections(t *testing.T, c *redis.Client) int {
	t.Helper()
	list, err := c.ClientList(bounded(t)).Result()
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if strings.Contains(line, " flags=P") || strings.Contains(line, " cmd=subscribe") ||
			strings.Contains(line, " cmd=psubscribe") || strings.Contains(line, " cmd=ssubscribe") {
			n++
		}
	}
	return n
}

// TestOneConnectionAndClose checks that the namespaces of a server share
// one subscription connection, and that closing the server ends every
// goroutine the adapters started, and the connection.
func TestOneConnectionAndClose(t *testing.T) {
	r := startRedis(t)
	admin := r.Client(t)
	for _, sharded := range []bool{false, true} {
		name := map[bool]string{false: "classic", true: "sharded"}[sharded]
		t.Run(name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
			f := redisadapter.New(rc, nil)
			channel := "socket.io-request#/admin#"
			if sharded {
				f = redisadapter.NewSharded(rc, nil)
				channel = "socket.io#/admin#"
			}
			srv := ferry.NewServer(&ferry.Options{Adapter: f.Adapter})
			srv.Of("/")
			srv.Of("/admin")
			srv.Of("/chat")
			require.Eventually(t, func() bool {
				var counts map[string]int64
				if sharded {
					counts = admin.PubSubShardNumSub(bounded(t), channel).Val()
				} else {
					counts = admin.PubSubNumSub(bounded(t), channel).Val()
				}
				return counts[channel] == 1
			}, within, time.Millisecond)
			require.Equal(t, 1, pubsubConnections(t, admin), "one subscription connection for three namespaces")

			require.NoError(t, srv.Close())
			require.NoError(t, rc.Close())
			require.Eventually(t, func() bool { return pubsubConnections(t, admin) == 0 }, within, time.Millisecond)
			goleak.VerifyNone(t, before)
		})
	}
}

// TestGarbageIgnored publishes malformed messages on every channel the
// adapters read: they are counted and ignored, and the cluster works on.
func TestGarbageIgnored(t *testing.T) {
	r := startRedis(t)
	raw := r.Client(t)
	for _, sharded := range []bool{false, true} {
		name := map[bool]string{false: "classic", true: "sharded"}[sharded]
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, func() *redisadapter.Factory {
				if sharded {
					return redisadapter.NewSharded(r.Client(t), nil)
				}
				return redisadapter.New(r.Client(t), nil)
			})
			gotB := events(c.cb, "news")
			ctx := bounded(t)
			garbage := []string{"", "{", "\xc1", "\x93\xa1x\xc0\xc0", `{"type":"x"}`, `{"type":3,"data":{"packet":1},"uid":"u","nsp":"/"}`,
				"\x93\xa1x\x81\xa4data\x90\x80", `{"uid":"u","type":5,"opts":7,"requestId":"r"}`, `{"uid":"u","type":6,"data":[]}`}
			channels := []string{"socket.io#/#", "socket.io-request#/#", "socket.io-response#/#", "socket.io#/#room#"}
			for _, ch := range channels {
				for _, g := range garbage {
					if sharded {
						require.NoError(t, raw.SPublish(ctx, ch, g).Err())
					} else {
						require.NoError(t, raw.Publish(ctx, ch, g).Err())
					}
				}
			}
			require.NoError(t, c.a.Emit("news", "still"))
			require.Equal(t, "still", recv(t, gotB))
			require.Positive(t, c.b.factory.Stats().Undecodable)
			require.Positive(t, c.b.factory.Stats().Received)
			// A counts its publish once Redis answered, which may be after B
			// delivered it.
			require.Eventually(t, func() bool { return c.a.factory.Stats().Published > 0 }, within, time.Millisecond)
		})
	}
}
