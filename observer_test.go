package ferry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/session"
)

// observed counts what a ferry.Observer heard of.
type observed struct {
	mu           sync.Mutex
	opened       map[string]int // guarded by mu: by transport
	closed       map[string]int // guarded by mu: by transport and reason
	connected    map[string]int // guarded by mu: by namespace
	disconnected map[string]int // guarded by mu: by namespace and reason
	broadcasts   map[string]int // guarded by mu: by namespace
	ackTimeouts  map[string]int // guarded by mu: by namespace
	packetsIn    int            // guarded by mu
	packetsOut   int            // guarded by mu
}

func newObserved() *observed {
	return &observed{
		opened: map[string]int{}, closed: map[string]int{},
		connected: map[string]int{}, disconnected: map[string]int{},
		broadcasts: map[string]int{}, ackTimeouts: map[string]int{},
	}
}

// add increments m[key] under the lock.
func (o *observed) add(m map[string]int, key string) {
	o.mu.Lock()
	m[key]++
	o.mu.Unlock()
}

func (o *observed) observer() *ferry.Observer {
	return &ferry.Observer{
		Engine: ferry.EngineObserver{
			Opened: func(tr string) { o.add(o.opened, tr) },
			Closed: func(tr string, r session.CloseReason) { o.add(o.closed, tr+": "+r.String()) },
			PacketsIn: func(_ string, n, _ int) {
				o.mu.Lock()
				o.packetsIn += n
				o.mu.Unlock()
			},
			PacketsOut: func(_ string, n, _ int) {
				o.mu.Lock()
				o.packetsOut += n
				o.mu.Unlock()
			},
		},
		Connected:    func(nsp string) { o.add(o.connected, nsp) },
		Disconnected: func(nsp string, r ferry.DisconnectReason) { o.add(o.disconnected, nsp+": "+r.String()) },
		Broadcast:    func(nsp string) { o.add(o.broadcasts, nsp) },
		AckTimeout:   func(nsp string) { o.add(o.ackTimeouts, nsp) },
	}
}

// snapshot returns a copy of m, taken under the lock.
func (o *observed) snapshot(m map[string]int) map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestObserver(t *testing.T) {
	t.Parallel()
	run(t, func(t *testing.T, m mode) {
		// Each event reaches both observers (and the empty one, whose
		// fields are nil), through MultiObserver.
		obs, twin := newObserved(), newObserved()
		ts := m.serve(t, &ferry.Options{Observer: ferry.MultiObserver(obs.observer(), nil, &ferry.Observer{}, twin.observer())})
		watched := make(reasons, 8)
		ts.Use(watched.middleware)
		ts.Of("/chat").Use(watched.middleware)

		cl := ts.dial(t, nil)
		main := cl.Socket("/", nil)
		chat := cl.Socket("/chat", nil)
		news := events(main, "news")
		main.On("silent", func(*client.Event) {}) // never acks
		require.NoError(t, main.Connect(bounded(t)))
		require.NoError(t, chat.Connect(bounded(t)))
		assert.Equal(t, map[string]int{"/": 1, "/chat": 1}, obs.snapshot(obs.connected))
		first := "polling"
		if m.name == "websocket" {
			first = "websocket"
		}
		assert.Equal(t, map[string]int{first: 1}, obs.snapshot(obs.opened))

		// Two broadcasts, one of them to a room; an emit to one socket is
		// none.
		s := ts.socket(t, main)
		s.Join("room")
		require.NoError(t, ts.Emit("news", 1))
		require.NoError(t, ts.To("room").Emit("news", 2))
		require.NoError(t, s.Emit("news", 3))
		for range 3 {
			recv(t, news)
		}
		assert.Equal(t, map[string]int{"/": 2}, obs.snapshot(obs.broadcasts))

		// An ack that does not come by the Timeout, to one socket and to a
		// broadcast (the third broadcast); a context cancelled is no timeout.
		_, err := s.Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "silent")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		_, err = ts.Timeout(20*time.Millisecond).EmitWithAck(context.Background(), "silent")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		require.NoError(t, s.EmitWithAckFunc(ctx, "silent", nil, func(_ ferry.Args, err error) { done <- err }))
		cancel()
		require.ErrorIs(t, recv(t, done), context.Canceled)
		assert.Equal(t, map[string]int{"/": 2}, obs.snapshot(obs.ackTimeouts))
		assert.Equal(t, map[string]int{"/": 3}, obs.snapshot(obs.broadcasts))

		// Disconnects, with the reasons the handlers get: the connection
		// closed by the server ends once its close packet is written, on the
		// transport it ended on.
		ts.socket(t, chat).Disconnect(false)
		assert.Equal(t, "server namespace disconnect", recv(t, watched))
		m.upgraded(t, s)
		require.NoError(t, s.Conn().Close())
		assert.Equal(t, "forced close", recv(t, watched))
		assert.Equal(t, map[string]int{
			"/chat: server namespace disconnect": 1,
			"/: forced close":                    1,
		}, obs.snapshot(obs.disconnected))
		last := first
		if m.upgrades() {
			last = "websocket"
		}
		require.Eventually(t, func() bool { return len(obs.snapshot(obs.closed)) > 0 }, within, time.Millisecond)
		assert.Equal(t, map[string]int{last + ": forced close": 1}, obs.snapshot(obs.closed))
		obs.mu.Lock()
		assert.Positive(t, obs.packetsIn)
		assert.Positive(t, obs.packetsOut)
		obs.mu.Unlock()
		for _, field := range []func(o *observed) map[string]int{
			func(o *observed) map[string]int { return o.opened },
			func(o *observed) map[string]int { return o.closed },
			func(o *observed) map[string]int { return o.connected },
			func(o *observed) map[string]int { return o.disconnected },
			func(o *observed) map[string]int { return o.broadcasts },
			func(o *observed) map[string]int { return o.ackTimeouts },
		} {
			assert.Equal(t, obs.snapshot(field(obs)), twin.snapshot(field(twin)))
		}
		twin.mu.Lock()
		assert.Positive(t, twin.packetsIn)
		assert.Positive(t, twin.packetsOut)
		twin.mu.Unlock()
	})
}

// TestMultiObserverFew: with no observer MultiObserver gives none, with
// one it gives that one.
func TestMultiObserverFew(t *testing.T) {
	assert.Nil(t, ferry.MultiObserver())
	assert.Nil(t, ferry.MultiObserver(nil, nil))
	one := &ferry.Observer{}
	assert.Same(t, one, ferry.MultiObserver(nil, one))
}

// TestObserverQueueFull: a connection whose queue overflows is reported
// closed with session.ReasonQueueFull, its sockets disconnected with
// "transport error".
func TestObserverQueueFull(t *testing.T) {
	t.Parallel()
	m := mode{name: "polling", transports: []string{"polling"}, codec: defaultCodec()}
	obs := newObserved()
	ts := m.serve(t, &ferry.Options{Observer: obs.observer(), MaxQueuedPackets: 4})
	cs := ts.connect(t, "/", nil)
	s := ts.socket(t, cs)
	var err error
	for range 8 {
		if err = s.Emit("flood"); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, ferry.ErrDisconnected)
	require.Eventually(t, func() bool { return len(obs.snapshot(obs.closed)) > 0 }, within, time.Millisecond)
	assert.Equal(t, map[string]int{"polling: queue full": 1}, obs.snapshot(obs.closed))
	assert.Equal(t, map[string]int{"/: transport error": 1}, obs.snapshot(obs.disconnected))
}

// TestObserverNil: a server without an Observer, and one with an empty
// Observer, serve alike.
func TestObserverNil(t *testing.T) {
	t.Parallel()
	m := mode{name: "upgrade", transports: []string{"polling", "websocket"}, codec: defaultCodec()}
	for _, o := range []*ferry.Observer{nil, {}} {
		ts := m.serve(t, &ferry.Options{Observer: o})
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("echo", func(e *ferry.Event) { e.Ack(e.Args) })
		})
		cs := ts.connect(t, "/", nil)
		reply, err := cs.EmitWithAck(bounded(t), "echo", "hi")
		require.NoError(t, err)
		require.Len(t, reply, 1)
		_, err = ts.Timeout(time.Millisecond).EmitWithAck(context.Background(), "nothing")
		require.True(t, err == nil || errors.Is(err, context.DeadlineExceeded), err)
	}
}
