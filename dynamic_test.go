package ferry_test

import (
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// adapterLog records the life of every adapter a server makes, by
// namespace name ("" for dynamic parents).
type adapterLog struct {
	mu      sync.Mutex
	made    map[string]int
	closed  map[string]int
	current map[string]*trackedAdapter
}

type trackedAdapter struct {
	*ferry.MemoryAdapter
	log  *adapterLog
	name string
}

func (a *trackedAdapter) Close() error {
	a.log.mu.Lock()
	a.log.closed[a.name]++
	a.log.mu.Unlock()
	return a.MemoryAdapter.Close()
}

func newAdapterLog() *adapterLog {
	return &adapterLog{made: map[string]int{}, closed: map[string]int{}, current: map[string]*trackedAdapter{}}
}

// options returns server options whose adapters l records.
func (l *adapterLog) options() *ferry.Options {
	return &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
		a := &trackedAdapter{MemoryAdapter: ferry.NewMemoryAdapter(nsp), log: l, name: nsp.Name()}
		l.mu.Lock()
		l.made[a.name]++
		l.mu.Unlock()
		return a
	}}
}

// counts returns how many adapters were made and closed for name.
func (l *adapterLog) counts(name string) (made, closed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.made[name], l.closed[name]
}

// TestDynamicChildRefused checks that a dynamic child made for a connection
// the middleware refuses is removed, its adapter closed: it used to stay,
// so that clients could grow the server without bound.
func TestDynamicChildRefused(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		log := newAdapterLog()
		ts := m.serve(t, log.options())
		parent := ts.OfRegexp(regexp.MustCompile(`^/game-\d+$`))
		parent.Use(func(s *ferry.Socket) error { return &ferry.ConnectError{Message: "closed"} })

		c := ts.dial(t, nil)
		var ce *client.ConnectError
		require.ErrorAs(t, c.Socket("/game-1", nil).Connect(bounded(t)), &ce)
		// The CONNECT_ERROR leaves before the refused child is removed: the
		// client may hear of the refusal first.
		closedCount := func(want int) func() bool {
			return func() bool { _, closed := log.counts("/game-1"); return closed == want }
		}
		require.Eventually(t, closedCount(1), within, time.Millisecond, "the refused child's adapter is closed")
		made, _ := log.counts("/game-1")
		require.Equal(t, 1, made)

		// Asking again makes a new child, refused and removed the same way.
		require.ErrorAs(t, ts.dial(t, nil).Socket("/game-1", nil).Connect(bounded(t)), &ce)
		require.Eventually(t, closedCount(2), within, time.Millisecond)
		made, _ = log.counts("/game-1")
		require.Equal(t, 2, made)
	})
}

// TestCleanupEmptyChildNamespaces checks the option: a child whose last
// socket leaves is removed and its adapter closed; without the option it
// stays, as in socket.io.
func TestCleanupEmptyChildNamespaces(t *testing.T) {
	for _, cleanup := range []bool{false, true} {
		name := "keep"
		if cleanup {
			name = "cleanup"
		}
		t.Run(name, func(t *testing.T) {
			run(t, func(t *testing.T, m mode) {
				log := newAdapterLog()
				opts := log.options()
				opts.CleanupEmptyChildNamespaces = cleanup
				ts := m.serve(t, opts)
				parent := ts.OfRegexp(regexp.MustCompile(`^/game-\d+$`))
				joined := sockets(parent)

				a := ts.connect(t, "/game-1", nil)
				b := ts.connect(t, "/game-1", nil)
				first := recv(t, joined)
				require.Same(t, first.Namespace(), recv(t, joined).Namespace())
				gone := make(reasons, 2)
				gone.watch(first)

				a.Disconnect()
				recv(t, gone)
				_, closed := log.counts("/game-1")
				require.Equal(t, 0, closed, "a child with a socket left stays")

				last := ts.socket(t, b)
				gone.watch(last)
				b.Disconnect()
				recv(t, gone)
				made, closed := log.counts("/game-1")
				require.Equal(t, 1, made)
				if !cleanup {
					require.Equal(t, 0, closed, "without the option, an empty child stays")
					ts.connect(t, "/game-1", nil)
					require.Same(t, first.Namespace(), recv(t, joined).Namespace())
					return
				}
				require.Equal(t, 1, closed, "the empty child's adapter is closed")
				ts.connect(t, "/game-1", nil)
				again := recv(t, joined)
				require.NotSame(t, first.Namespace(), again.Namespace(), "a new child")
				made, _ = log.counts("/game-1")
				require.Equal(t, 2, made)

				// A broadcast on the parent reaches the new child.
				news := events(ts.connect(t, "/game-1", nil), "news")
				recv(t, joined)
				require.NoError(t, parent.Emit("news", 1))
				require.Equal(t, 1, arg[int](t, recv(t, news), 0))
			})
		})
	}
}

// TestAdaptersClosedWithServer checks that closing the server closes every
// adapter it made, once: static namespaces, dynamic parents and children.
func TestAdaptersClosedWithServer(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		log := newAdapterLog()
		ts := m.serve(t, log.options())
		ts.Of("/admin")
		ts.OfRegexp(regexp.MustCompile(`^/game-\d+$`))
		ts.connect(t, "/game-7", nil)
		ts.connect(t, "/", nil)
		require.NoError(t, ts.Close())

		for _, name := range []string{"/", "/admin", "", "/game-7"} {
			made, closed := log.counts(name)
			require.Equal(t, 1, made, name)
			require.Equal(t, 1, closed, "adapter of %q", name)
		}
		late := ts.Of("/late")
		require.NotNil(t, late)
		made, closed := log.counts("/late")
		require.Equal(t, 1, made)
		require.Equal(t, 1, closed, "a namespace made after the close has its adapter closed at once")
	})
}

// TestOfRace checks that namespaces made at once under one name end as one:
// the adapters of the others are closed.
func TestOfRace(t *testing.T) {
	log := newAdapterLog()
	ts := mode{name: "none", codec: defaultCodec()}.serve(t, log.options())
	const n = 16
	got := make([]*ferry.Namespace, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range got {
		wg.Go(func() {
			<-start
			got[i] = ts.Of("/race")
		})
	}
	close(start)
	wg.Wait()
	for _, nsp := range got {
		require.Same(t, got[0], nsp)
	}
	made, closed := log.counts("/race")
	require.GreaterOrEqual(t, made, 1)
	require.Equal(t, made-1, closed, "every adapter but the winner's is closed")
}
