package ferry_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

// liveCall is a call the server made to a LiveSessionAdapter.
type liveCall struct {
	op       string // "persist", "track" or "untrack"
	sid, pid string // sid: for persist and track
}

// liveAdapter is a MemoryAdapter that reports the calls to keep sessions.
type liveAdapter struct {
	*ferry.MemoryAdapter
	calls chan liveCall
}

func (a *liveAdapter) PersistSession(ctx context.Context, s *ferry.SessionState) error {
	a.calls <- liveCall{"persist", s.SID, s.PID}
	return a.MemoryAdapter.PersistSession(ctx, s)
}

func (a *liveAdapter) TrackSession(_ context.Context, s *ferry.SessionState) error {
	a.calls <- liveCall{"track", s.SID, s.PID}
	return nil
}

func (a *liveAdapter) UntrackSession(_ context.Context, pid string) error {
	a.calls <- liveCall{"untrack", "", pid}
	return nil
}

// TestLiveSessionAdapterCalls: with recovery on, a LiveSessionAdapter is
// told of each socket once connected, fresh or recovered, and once it
// disconnects, after its session is persisted when it may recover.
func TestLiveSessionAdapterCalls(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		calls := make(chan liveCall, 16)
		it := m.serveInterruptible(t, &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
			return &liveAdapter{MemoryAdapter: ferry.NewMemoryAdapter(nsp), calls: calls}
		}}, nil)
		joined := sockets(it.Of("/"))
		a := it.join(t, nil)
		sa := recv(t, joined)
		tracked := recv(t, calls)
		assert.Equal(t, "track", tracked.op)
		assert.Equal(t, sa.ID(), tracked.sid)
		require.NotEmpty(t, tracked.pid)
		m.upgraded(t, sa)

		it.drop(t, sa, a)
		assert.Equal(t, liveCall{"persist", sa.ID(), tracked.pid}, recv(t, calls))
		assert.Equal(t, liveCall{"untrack", "", tracked.pid}, recv(t, calls), "untracked after it was persisted")
		it.shut.Store(false)

		assert.True(t, recv(t, a.connects), "recovered")
		assert.True(t, recv(t, joined).Recovered())
		assert.Equal(t, liveCall{"track", sa.ID(), tracked.pid}, recv(t, calls), "a recovered socket is tracked again")

		// A disconnection the client asked for persists nothing.
		a.Disconnect()
		assert.Equal(t, liveCall{"untrack", "", tracked.pid}, recv(t, calls))
		assert.Empty(t, calls)
	})
}
