package redisadapter_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/redisadapter"
)

// wireArgs are the arguments of the events compared byte for byte: a
// string, binary data and a Date.
var wireArgs = []any{"world", []byte{1, 2, 3}, time.UnixMilli(1700000000123)}

// nodeWireArgs are the same, for peer.mjs.
var nodeWireArgs = []any{"world", map[string]any{"$bin": "010203"}, map[string]any{"$date": 1700000000123}}

// capture subscribes a plain Redis client to channel (SSUBSCRIBE with
// sharded, a pattern with a trailing *, else SUBSCRIBE) and returns the
// payloads it receives.
func capture(t *testing.T, r *redisServer, channel string, sharded bool) <-chan []byte {
	t.Helper()
	c := r.Client(t)
	ctx := bounded(t)
	var ps *redis.PubSub
	switch {
	case sharded:
		ps = c.SSubscribe(ctx, channel)
	case channel[len(channel)-1] == '*':
		ps = c.PSubscribe(ctx, channel)
	default:
		ps = c.Subscribe(ctx, channel)
	}
	_, err := ps.Receive(ctx) // the subscription's confirmation
	require.NoError(t, err)
	out := make(chan []byte, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := ps.ReceiveMessage(context.Background())
			if err != nil {
				return
			}
			out <- []byte(m.Payload)
		}
	}()
	t.Cleanup(func() {
		_ = ps.Close()
		<-done
	})
	return out
}

// TestWireMatchesNode compares, byte for byte, what Ferry and Node publish
// for the same operation: the classic adapter's broadcast (sender uids
// aside), the emitter's messages, and the sharded adapter's broadcast.
func TestWireMatchesNode(t *testing.T) {
	r := startRedis(t)
	ctx := bounded(t)

	t.Run("classic", func(t *testing.T) {
		a := newFerry(t, redisadapter.New(r.Client(t), nil), nil)
		peer := startPeer(t, r, "classic", "", "json")
		waitServers(t, a, "/", 2)
		msgs := capture(t, r, "socket.io#/#room1#", false)

		peer.do("emit", map[string]any{"to": []string{"room1"}, "event": "hello", "args": nodeWireArgs})
		fromNode := recv(t, msgs)
		require.NoError(t, a.To("room1").Emit("hello", wireArgs...))
		fromFerry := recv(t, msgs)
		// [uid, packet, opts]: the uid is a6 and 6 characters.
		require.Equal(t, byte(0x93), fromNode[0])
		require.Equal(t, byte(0xa6), fromNode[1])
		require.Equal(t, fromNode[8:], fromFerry[8:], "node % x\nferry % x", fromNode, fromFerry)
		require.True(t, bytes.Contains(fromFerry, []byte{0xd7, 0xff, 0x1d, 0x53, 0x53, 0x00, 0x65, 0x53, 0xf1, 0x00}), "a Date as a msgpack timestamp")

		// The emitters, whose uid is fixed.
		peer.do("emitter", map[string]any{"action": "emit", "to": []string{"room1"}, "event": "hello", "args": nodeWireArgs})
		fromNode = recv(t, msgs)
		require.NoError(t, redisadapter.NewEmitter(r.Client(t), nil).To("room1").Emit(ctx, "hello", wireArgs...))
		require.Equal(t, fromNode, recv(t, msgs))

		requests := capture(t, r, "socket.io-request#/#", false)
		emitter := redisadapter.NewEmitter(r.Client(t), nil)
		steps := []struct {
			node map[string]any
			goes func() error
		}{
			{map[string]any{"action": "socketsJoin", "to": []string{"room1"}, "except": []string{"x"}, "rooms": []string{"r2", "r3"}},
				func() error { return emitter.To("room1").Except("x").SocketsJoin(ctx, "r2", "r3") }},
			{map[string]any{"action": "socketsLeave", "to": []string{"room1"}, "rooms": []string{"r2"}},
				func() error { return emitter.To("room1").SocketsLeave(ctx, "r2") }},
			{map[string]any{"action": "disconnectSockets", "to": []string{"nobody"}, "close": true},
				func() error { return emitter.To("nobody").DisconnectSockets(ctx, true) }},
			{map[string]any{"action": "serverSideEmit", "event": "noop", "args": []any{1, "two"}},
				func() error { return emitter.ServerSideEmit(ctx, "noop", 1, "two") }},
		}
		for _, s := range steps {
			peer.do("emitter", s.node)
			fromNode := recv(t, requests)
			require.NoError(t, s.goes())
			require.Equal(t, string(fromNode), string(recv(t, requests)))
		}
	})

	t.Run("sharded", func(t *testing.T) {
		a := newFerry(t, redisadapter.NewSharded(r.Client(t), &redisadapter.ShardedOptions{SubscriptionMode: redisadapter.Static}), nil)
		peer := startPeer(t, r, "sharded", "static", "json")
		waitServers(t, a, "/", 2)
		msgs := capture(t, r, "socket.io#/#", true)
		uidOf := func(b []byte) []byte {
			i := bytes.Index(b, []byte("uid"))
			require.GreaterOrEqual(t, i, 0)
			start := i + 4 // after a msgpack str header (b0)
			if b[0] == '{' {
				start = i + 6 // after `":"`
			}
			return b[start : start+16]
		}

		// Binary: the whole message in msgpack.
		peer.do("emit", map[string]any{"to": []string{"room1"}, "event": "hello", "args": nodeWireArgs})
		fromNode := recv(t, msgs)
		require.NoError(t, a.To("room1").Emit("hello", wireArgs...))
		fromFerry := recv(t, msgs)
		require.Equal(t, string(bytes.ReplaceAll(fromNode, uidOf(fromNode), uidOf(fromFerry))), string(fromFerry))

		// No binary: JSON, the Date as text.
		peer.do("emit", map[string]any{"event": "hello", "args": []any{"world", map[string]any{"$date": 1700000000123}}})
		fromNode = recv(t, msgs)
		require.NoError(t, a.Of("/").Emit("hello", "world", time.UnixMilli(1700000000123)))
		fromFerry = recv(t, msgs)
		require.Equal(t, byte('{'), fromFerry[0])
		require.Equal(t, string(bytes.ReplaceAll(fromNode, uidOf(fromNode), uidOf(fromFerry))), string(fromFerry))
	})
}
