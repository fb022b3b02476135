package adminui_test

import (
	"context"
	"net"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/adminui"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/redisadapter"
)

// startRedis runs a redis-server on a free port until t ends, and returns
// a client of it.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: run `make deps` (%v)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no", "--loglevel", "warning")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() { rdb.Close() })
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err() == nil
	}, within, 10*time.Millisecond, "redis-server did not answer PING")
	return rdb
}

// TestCluster checks two servers sharing a Redis adapter, with the UI
// connected to one of them: it sees both servers, the sockets of the
// other, as they connect and in the list of all sockets, and disconnects
// one of them there.
func TestCluster(t *testing.T) {
	rdb := startRedis(t)
	urls := make(map[string]string)
	for _, id := range []string{"a", "b"} {
		srv := ferry.NewServer(&ferry.Options{Logger: quiet, Adapter: redisadapter.New(rdb, &redisadapter.Options{Logger: quiet}).Adapter})
		inst, err := adminui.Instrument(srv, &adminui.Options{NoAuth: true, ServerID: id, ServerStatsInterval: 50 * time.Millisecond, Logger: quiet})
		require.NoError(t, err)
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		t.Cleanup(func() { srv.Close() })
		t.Cleanup(func() { inst.Close() })
		urls[id] = hs.URL
	}
	_, events, err := dial(t, urls["a"], "/admin", nil)
	require.NoError(t, err)
	seen := make(map[string]bool)
	for !seen["a"] || !seen["b"] {
		var stats struct {
			ServerID string `json:"serverId"`
		}
		require.NoError(t, next(t, events, "server_stats").Decode(&stats))
		seen[stats.ServerID] = true
	}

	user, _, err := dial(t, urls["b"], "/", nil)
	require.NoError(t, err)
	userID := user.ID()
	described := nextSocket(t, events, userID)
	require.Equal(t, "/", described.Nsp, "a socket of the other server is announced")

	_, more, err := dial(t, urls["a"], "/admin", nil)
	require.NoError(t, err)
	var all []struct {
		ID       string `json:"id"`
		ClientID string `json:"clientId"`
		Nsp      string `json:"nsp"`
	}
	require.NoError(t, next(t, more, "all_sockets").Decode(&all))
	found := false
	for _, s := range all {
		if s.ID == userID {
			found = true
			require.Equal(t, "/", s.Nsp)
			require.Empty(t, s.ClientID, "another server's connection is not known")
		}
	}
	require.True(t, found, "all_sockets lists the other server's sockets: %v", all)

	gone := make(chan client.DisconnectReason, 1)
	user.OnDisconnect(func(r client.DisconnectReason) { gone <- r })
	admin, _, err := dial(t, urls["a"], "/admin", nil)
	require.NoError(t, err)
	require.NoError(t, admin.Emit("_disconnect", "/", false, userID))
	require.Equal(t, client.DisconnectReason("io server disconnect"), recv(t, gone))
	var nsp, id, reason string
	for id != userID {
		require.NoError(t, next(t, events, "socket_disconnected").Decode(&nsp, &id, &reason))
	}
	require.Equal(t, "server namespace disconnect", reason)
}
