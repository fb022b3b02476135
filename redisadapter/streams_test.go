package redisadapter_test

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// recoveryWindow is the servers' MaxDisconnectionDuration in these tests.
const recoveryWindow = time.Minute

// streamsServer starts a Ferry server on factory's adapters, with
// connection state recovery when recover is set.
func streamsServer(t testing.TB, factory *redisadapter.Factory, codec parser.Codec, recover bool) *ferryServer {
	opts := &ferry.Options{Adapter: factory.Adapter, Parser: codec}
	if recover {
		opts.ConnectionStateRecovery = &ferry.RecoveryOptions{MaxDisconnectionDuration: recoveryWindow}
	}
	srv := ferry.NewServer(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &ferryServer{Server: srv, URL: ts.URL, factory: factory}
}

func TestStreamsGoCluster(t *testing.T) {
	r := startRedis(t)
	for _, recover := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "recovery"}[recover]
		t.Run(name, func(t *testing.T) {
			factory := func() *redisadapter.Factory {
				return redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{StreamName: "go-" + name, ChannelPrefix: "go-" + name})
			}
			a := streamsServer(t, factory(), nil, recover)
			b := streamsServer(t, factory(), nil, recover)
			testGoClusterOf(t, r, newClusterOf(t, a, b), "")
		})
	}
}

// TestInteropStreams runs the mixed cluster's interop checks on the
// Streams protocol: two Ferry servers and a Node server on
// @socket.io/redis-streams-adapter 0.3.1, with and without recovery (which
// adds offsets to the events).
func TestInteropStreams(t *testing.T) {
	r := startRedis(t)
	for _, recover := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "recovery"}[recover]
		t.Run(name, func(t *testing.T) {
			env := []string{"MODE=streams", "NODE_PARSER=json"}
			if recover {
				env = append(env, "RECOVERY_MS="+strconv.Itoa(int(recoveryWindow.Milliseconds())))
			}
			m := newMixedOf(t, r, env, func(codec parser.Codec) *ferryServer {
				return streamsServer(t, redisadapter.NewStreams(r.Client(t), nil), codec, recover)
			})
			m.sharded = true
			testInterop(t, m)
		})
	}
}
