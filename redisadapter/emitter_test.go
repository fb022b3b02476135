package redisadapter_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/redisadapter"
)

// TestEmitters checks that the Go emitter and @socket.io/redis-emitter
// reach the clients of Ferry servers (and of the Node server), and act
// on their sockets.
func TestEmitters(t *testing.T) {
	r := startRedis(t)
	m := newMixed(t, r, "classic", "", "json", func() *redisadapter.Factory {
		return redisadapter.New(r.Client(t), nil)
	})
	sse := make(chan string, 8)
	for _, s := range []*ferryServer{m.a, m.b} {
		s.Of("/").OnServerSideEmit("job", func(e *ferry.Event) {
			var arg string
			_ = e.Decode(&arg)
			sse <- arg
		})
	}
	ctx := bounded(t)
	p := m.peer
	nodeSid := p.Clients["node"]
	goEmitter := redisadapter.NewEmitter(r.Client(t), nil)

	// Everyone, then a room with an exception.
	require.NoError(t, goEmitter.Emit(ctx, "news", "go-all"))
	p.do("emitter", map[string]any{"action": "emit", "event": "news", "args": []any{"node-all"}})
	m.expect(t, "all", map[string][]string{
		"node":   {"news:go-all", "news:node-all"},
		"ferryA": {"news:go-all", "news:node-all"},
		"ferryB": {"news:go-all", "news:node-all"},
	})

	// socketsJoin from each emitter, for sockets of every server.
	require.NoError(t, goEmitter.In(m.sa.ID(), nodeSid).SocketsJoin(ctx, "team"))
	p.do("emitter", map[string]any{"action": "socketsJoin", "to": []string{m.sb.ID()}, "rooms": []string{"team"}})
	require.Eventually(t, func() bool {
		return slices.Contains(m.sa.Rooms(), "team") && slices.Contains(m.sb.Rooms(), "team")
	}, within, time.Millisecond)

	require.NoError(t, goEmitter.To("team").Except(m.sb.ID()).Emit(ctx, "news", "go-team"))
	p.do("emitter", map[string]any{"action": "emit", "to": []string{"team"}, "except": []string{nodeSid}, "event": "news", "args": []any{"node-team"}})
	m.expect(t, "team", map[string][]string{
		"node":   {"news:go-team"},
		"ferryA": {"news:go-team", "news:node-team"},
		"ferryB": {"news:node-team"},
	})

	// Another namespace only reaches its own sockets.
	require.NoError(t, goEmitter.Of("admin").Emit(ctx, "news", "admin-only"))

	// socketsLeave.
	require.NoError(t, goEmitter.In("team").Except(m.sa.ID()).SocketsLeave(ctx, "team"))
	require.Eventually(t, func() bool { return !slices.Contains(m.sb.Rooms(), "team") }, within, time.Millisecond)
	p.do("emitter", map[string]any{"action": "socketsLeave", "to": []string{m.sa.ID()}, "rooms": []string{"team"}})
	require.Eventually(t, func() bool { return !slices.Contains(m.sa.Rooms(), "team") }, within, time.Millisecond)
	m.expect(t, "after-leave", nil) // admin-only went nowhere here

	// serverSideEmit reaches every server's handlers.
	require.NoError(t, goEmitter.ServerSideEmit(ctx, "job", "from-go"))
	require.Equal(t, "from-go", recv(t, sse))
	require.Equal(t, "from-go", recv(t, sse))
	p.do("emitter", map[string]any{"action": "serverSideEmit", "event": "job", "args": []any{"from-node"}})
	require.Equal(t, "from-node", recv(t, sse))
	require.Equal(t, "from-node", recv(t, sse))

	// Reserved names are refused.
	require.True(t, errors.Is(goEmitter.Emit(ctx, "disconnect"), ferry.ErrReservedEvent))

	// disconnectSockets, from each emitter.
	require.NoError(t, goEmitter.In(m.sa.ID()).DisconnectSockets(ctx, false))
	require.Equal(t, "io server disconnect", recv(t, p.gone["ferryA"]))
	p.do("emitter", map[string]any{"action": "disconnectSockets", "to": []string{m.sb.ID()}})
	require.Equal(t, "io server disconnect", recv(t, p.gone["ferryB"]))
}
