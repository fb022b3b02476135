package ferry_test

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

// countingAdapter is an application adapter built on the memory adapter,
// as a multi-server adapter would be.
type countingAdapter struct {
	*ferry.MemoryAdapter
	broadcasts atomic.Int32
	namespaces []string // of the broadcast packets
	mu         sync.Mutex
}

func (a *countingAdapter) Broadcast(pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) {
	a.broadcasts.Add(1)
	a.mu.Lock()
	a.namespaces = append(a.namespaces, pkt.Packet.Namespace)
	a.mu.Unlock()
	a.MemoryAdapter.Broadcast(pkt, opts)
}

func (a *countingAdapter) Close() error { return errors.New("adapter refused to close") }

// lockedBuffer is a log sink safe to read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCustomAdapter(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		var logs lockedBuffer
		adapters := map[string]*countingAdapter{}
		var mu sync.Mutex
		ts := m.serve(t, &ferry.Options{
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
				a := &countingAdapter{MemoryAdapter: ferry.NewMemoryAdapter(nsp)}
				mu.Lock()
				adapters[nsp.Name()] = a
				mu.Unlock()
				return a
			},
		})
		admin := ts.Of("/admin")
		cs := ts.connect(t, "/admin", nil)
		got := events(cs, "news")
		require.Same(t, adapters["/admin"], admin.Adapter())

		require.NoError(t, admin.Emit("news", 1))
		require.NoError(t, admin.To("nobody").Emit("news", 2))
		require.NoError(t, ts.socket(t, cs).Broadcast().Emit("news", 3))
		require.NoError(t, admin.Emit("news", 4))
		require.Equal(t, 1, arg[int](t, recv(t, got), 0))
		require.Equal(t, 4, arg[int](t, recv(t, got), 0))
		require.EqualValues(t, 4, adapters["/admin"].broadcasts.Load())
		require.Equal(t, []string{"/admin", "/admin", "/admin", "/admin"}, adapters["/admin"].namespaces)
		require.Zero(t, adapters["/"].broadcasts.Load())

		// A failing adapter Close is logged, and does not stop the server
		// from closing.
		require.NoError(t, ts.Close())
		require.Contains(t, logs.String(), "adapter refused to close")
	})
}
