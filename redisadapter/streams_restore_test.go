package redisadapter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// TestStreamsRestoreSession drives RestoreSession directly: what is
// replayed (broadcasts to the session's rooms; not volatile ones, not
// other rooms' or namespaces'), and when a session cannot be restored: a
// second time, after its offset's entry was deleted, with more missed
// than MaxMissedPackets, with an offset that is none.
func TestStreamsRestoreSession(t *testing.T) {
	r := startRedis(t)
	rdb := r.Client(t)
	ctx := bounded(t)
	opts := &redisadapter.StreamsOptions{StreamName: "restore", RestoreWait: -1}
	srv := ferry.NewServer(&ferry.Options{
		Adapter:                 redisadapter.NewStreams(r.Client(t), opts).Adapter,
		ConnectionStateRecovery: &ferry.RecoveryOptions{MaxDisconnectionDuration: recoveryWindow, MaxMissedPackets: 3},
	})
	t.Cleanup(func() { _ = srv.Close() })
	ra := srv.Of("/").Adapter().(ferry.RecoveryAdapter)
	srv.Of("/other")
	require.Eventually(t, func() bool { return ra.Offset() != "" }, within, time.Millisecond, "the stream's end is read")

	// persist keeps a session of socket sid in rooms, after offset.
	persist := func(pid, connectOffset string, aliases map[string]string) {
		t.Helper()
		require.NoError(t, ra.PersistSession(ctx, &ferry.SessionState{
			SID: "sid-" + pid, PID: pid, Rooms: []string{"sid-" + pid, "r1"}, Data: map[string]any{"k": "v"},
			ConnectOffset: connectOffset, Aliases: aliases,
		}))
		require.Eventually(t, func() bool { return rdb.Exists(ctx, "sio:session:"+pid).Val() == 1 }, within, time.Millisecond)
	}
	type restored struct {
		ok     bool
		state  *ferry.SessionState
		missed []string // first argument, then offset
	}
	restore := func(pid, offset string) restored {
		t.Helper()
		var out restored
		ok, err := ra.RestoreSession(ctx, pid, offset, func(s *ferry.SessionState, missed []*ferry.EncodedPacket) bool {
			out.state = s
			for _, p := range missed {
				var arg string
				require.NoError(t, p.Packet.Args[1].(parser.Raw).Decode(&arg))
				out.missed = append(out.missed, arg+"@"+p.Offset)
			}
			return false // no socket to admit
		})
		require.NoError(t, err)
		out.ok = ok
		return out
	}
	// emit broadcasts, and returns the entry's id (Offset: the newest
	// entry read, which is this one, as the stream has no other writer).
	emit := func(b ferry.Broadcast, arg string) string {
		t.Helper()
		require.NoError(t, b.Emit("e", arg))
		return ra.Offset()
	}

	start := ra.Offset()
	persist("p1", start, map[string]string{"not-an-offset": start})
	e1 := emit(srv.Of("/").To("r1"), "to-r1")
	emit(srv.Of("/").To("r2"), "to-r2")
	emit(srv.Of("/").Except("r1"), "except-r1")
	emit(srv.Of("/other").Except(), "other-nsp")
	require.NoError(t, srv.Of("/").Volatile().Emit("e", "volatile"))
	e2 := emit(srv.Of("/").To("sid-p1"), "to-sid")
	e3 := emit(srv.Of("/").Except(), "to-all")

	got := restore("p1", start)
	require.True(t, got.ok)
	require.Equal(t, "sid-p1", got.state.SID)
	require.Equal(t, []string{"sid-p1", "r1"}, got.state.Rooms)
	require.Equal(t, map[string]any{"k": "v"}, got.state.Data)
	require.Equal(t, []string{"to-r1@" + e1, "to-sid@" + e2, "to-all@" + e3}, got.missed)
	require.False(t, restore("p1", start).ok, "a session is restored once")

	// Without an offset: from the connect offset; with an alias: from its
	// offset.
	persist("p2", e2, nil)
	require.Equal(t, []string{"to-all@" + e3}, restore("p2", "").missed)
	persist("p3", "", map[string]string{"not-an-offset": e2})
	require.Equal(t, []string{"to-all@" + e3}, restore("p3", "not-an-offset").missed)
	persist("p4", e2, nil)
	require.False(t, restore("p4", "junk").ok, "neither an offset nor an alias")
	// An offset from before the session (socket.io-client keeps its last
	// offset across sessions): from the session's connect offset.
	persist("p4", e2, nil)
	require.Equal(t, []string{"to-all@" + e3}, restore("p4", start).missed)

	// More missed than MaxMissedPackets: to-r1, to-all and these two.
	emit(srv.Of("/").To("r1"), "more-1")
	emit(srv.Of("/").To("r1"), "more-2")
	persist("p5", "", nil)
	require.False(t, restore("p5", start).ok)
	persist("p5", "", nil)
	require.Len(t, restore("p5", e1).missed, 3, "fewer after a later offset")

	// The offset's entry is gone: what followed it may be too.
	persist("p6", "", nil)
	require.NoError(t, rdb.XDel(ctx, "restore", e2).Err())
	require.False(t, restore("p6", e2).ok)
	persist("p7", "", nil)
	require.True(t, restore("p7", e3).ok, "an offset still there")
	require.Equal(t, "0-0", start, "the stream was empty when the server read its end")
	persist("p8", "", nil)
	require.False(t, restore("p8", start).ok, "from an empty stream, once an entry was deleted")
}
