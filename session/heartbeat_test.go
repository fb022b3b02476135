package session

import (
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/transport"
)

// fakeTransport is an in-memory transport.Transport: the test plays its
// writer by calling Session.Take and its reader by calling Session.Deliver.
type fakeTransport struct {
	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newFakeTransport() *fakeTransport {
	return &fakeTransport{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (f *fakeTransport) Name() string { return transport.NameWebSocket }

func (f *fakeTransport) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeTransport) Close() error {
	f.closeOnce.Do(func() { close(f.done) })
	return nil
}

func (f *fakeTransport) Done() <-chan struct{} { return f.done }

// fakeSession opens a session over a fakeTransport as a handshake does, with
// the open packet already taken. Each configure function runs on the new
// engine before the session exists.
func fakeSession(t *testing.T, opts *Options, configure ...func(*Engine)) (*Session, *fakeTransport) {
	t.Helper()
	o := *opts
	o.Logger = slog.New(slog.DiscardHandler)
	e := NewEngine(&o)
	for _, f := range configure {
		f(e)
	}
	s := newSession(e, sid.New(), httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil))
	ft := newFakeTransport()
	s.current = ft
	require.True(t, e.registry.add(s))
	s.mu.Lock()
	s.startHeartbeatLocked()
	s.mu.Unlock()
	t.Cleanup(func() { e.Close() })
	return s, ft
}

// sent returns what the session queued for ft since the last call, after
// letting every timer due by now fire.
func sent(s *Session, ft *fakeTransport) []string {
	synctest.Wait()
	pkts, _ := s.Take(ft)
	return wire(pkts...)
}

// isOpen reports whether s is still open, after letting every timer due by
// now fire.
func isOpen(s *Session) bool {
	synctest.Wait()
	select {
	case <-s.Done():
		return false
	default:
		return true
	}
}

const (
	testInterval = 10 * time.Second
	testTimeout  = 4 * time.Second
)

var heartbeatOpts = &Options{PingInterval: testInterval, PingTimeout: testTimeout}

func TestHeartbeatFirstPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		time.Sleep(testInterval - time.Nanosecond)
		assert.Empty(t, sent(s, ft))
		assert.Empty(t, ft.wake, "woken with nothing to send")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, []string{"2"}, sent(s, ft))
		assert.Len(t, ft.wake, 1, "the transport was not woken for the ping")
	})
}

func TestHeartbeatPongRestartsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		// A pong nobody asked for changes nothing.
		time.Sleep(testInterval / 2)
		require.NoError(t, s.Deliver(ft, transport.Packet{Type: transport.Pong}))
		time.Sleep(testInterval / 2)
		require.Equal(t, []string{"2"}, sent(s, ft))

		for range 3 {
			// The pong comes 3s after the ping; the next ping is
			// PingInterval after the pong, not after the ping.
			time.Sleep(3 * time.Second)
			require.NoError(t, s.Deliver(ft, transport.Packet{Type: transport.Pong}))
			time.Sleep(testInterval - time.Nanosecond)
			assert.Empty(t, sent(s, ft))
			time.Sleep(time.Nanosecond)
			assert.Equal(t, []string{"2"}, sent(s, ft))
		}
		assert.True(t, isOpen(s))
	})
}

func TestHeartbeatPingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		closed := make(chan *CloseError, 1)
		s.OnClose(func(err *CloseError) { closed <- err })
		start := time.Now()
		time.Sleep(testInterval)
		require.Equal(t, []string{"2"}, sent(s, ft))
		time.Sleep(testTimeout - time.Nanosecond)
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		require.False(t, isOpen(s), "still open at PingInterval+PingTimeout")
		assert.Equal(t, testInterval+testTimeout, time.Since(start))

		ce := <-closed
		assert.Equal(t, ReasonPingTimeout, ce.Reason)
		assert.Equal(t, "ping timeout", ce.Reason.String())
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
		assert.Equal(t, 0, s.engine.Count())
		select {
		case <-ft.Done():
		default:
			t.Fatal("the transport was not closed")
		}
		// Nothing more is sent, and a late pong does not revive it.
		assert.ErrorIs(t, s.Deliver(ft, transport.Packet{Type: transport.Pong}), ErrSessionClosed)
		time.Sleep(10 * testInterval)
		assert.Empty(t, sent(s, ft))
	})
}

func TestHeartbeatMessageExtendsDeadlineOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		msg := transport.TextPacket("busy")

		// A message before the ping does not move anything.
		time.Sleep(testInterval - time.Second)
		require.NoError(t, s.Deliver(ft, msg))
		time.Sleep(time.Second)
		require.Equal(t, []string{"2"}, sent(s, ft))

		// While the pong is awaited, the first message moves the deadline
		// to PingTimeout after it; the second does not move it again.
		time.Sleep(time.Second)
		require.NoError(t, s.Deliver(ft, msg))
		extended := time.Now().Add(testTimeout)
		time.Sleep(time.Second)
		require.NoError(t, s.Deliver(ft, msg))
		time.Sleep(time.Until(extended) - time.Nanosecond)
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		assert.False(t, isOpen(s), "the deadline was extended twice")
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
	})
}

func TestHeartbeatExtensionRenewsEachPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		msg := transport.TextPacket("busy")
		pong := transport.Packet{Type: transport.Pong}

		time.Sleep(testInterval)
		require.Equal(t, []string{"2"}, sent(s, ft))
		time.Sleep(time.Second)
		require.NoError(t, s.Deliver(ft, msg))  // extends this ping's deadline
		time.Sleep(testTimeout - time.Second/2) // past the original deadline
		require.True(t, isOpen(s))
		require.NoError(t, s.Deliver(ft, pong))

		// The next ping gets its own extension.
		time.Sleep(testInterval)
		require.Equal(t, []string{"2"}, sent(s, ft))
		time.Sleep(time.Second)
		require.NoError(t, s.Deliver(ft, msg))
		time.Sleep(testTimeout - time.Nanosecond)
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		assert.False(t, isOpen(s))
	})
}

// lateTimers makes the engine's heartbeat timers fire late: the n-th firing
// (from 0) acts late(n) after it was due.
func lateTimers(late func(n int) time.Duration) func(*Engine) {
	return func(e *Engine) {
		var n atomic.Int64
		e.testHookHeartbeat = func() { time.Sleep(late(int(n.Add(1) - 1))) }
	}
}

func TestHeartbeatLatePingDoesNotDelayClose(t *testing.T) {
	const late = 3 * time.Second
	synctest.Test(t, func(t *testing.T) {
		// The timer that sends the ping fires 3s late: the client has 3s
		// less to answer, and a silent one is still closed at
		// PingInterval+PingTimeout, not 3s later.
		s, ft := fakeSession(t, heartbeatOpts, lateTimers(func(n int) time.Duration {
			if n == 0 {
				return late
			}
			return 0
		}))
		start := time.Now()
		time.Sleep(testInterval + late - time.Nanosecond)
		assert.Empty(t, sent(s, ft), "the ping went out before the late timer fired")
		time.Sleep(time.Nanosecond)
		require.Equal(t, []string{"2"}, sent(s, ft))
		time.Sleep(testTimeout - late - time.Nanosecond)
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		require.False(t, isOpen(s), "still open at PingInterval+PingTimeout after the handshake")
		assert.Equal(t, testInterval+testTimeout, time.Since(start))
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
	})
}

func TestHeartbeatLateTimersDoNotAddUp(t *testing.T) {
	const late = time.Second
	synctest.Test(t, func(t *testing.T) {
		// Every ping timer fires 1s late. A client answering each ping
		// 2s after it arrives stays; each deadline is PingInterval+
		// PingTimeout after the previous pong, so the delays never add up.
		s, ft := fakeSession(t, heartbeatOpts, lateTimers(func(n int) time.Duration {
			if n < 4 {
				return late // the four ping timers; the fifth closes
			}
			return 0
		}))
		pong := transport.Packet{Type: transport.Pong}
		lastPong := time.Now()
		for range 3 {
			time.Sleep(time.Until(lastPong.Add(testInterval + late)))
			require.Equal(t, []string{"2"}, sent(s, ft))
			time.Sleep(2 * time.Second)
			require.True(t, isOpen(s))
			require.NoError(t, s.Deliver(ft, pong))
			lastPong = time.Now()
		}
		// Then silence: closed at the last pong + PingInterval +
		// PingTimeout exactly.
		time.Sleep(time.Until(lastPong.Add(testInterval+testTimeout)) - time.Nanosecond)
		require.Equal(t, []string{"2"}, sent(s, ft))
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		assert.False(t, isOpen(s), "a late ping timer pushed the close later")
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
	})
}

func TestHeartbeatLatePingMessageExtendsOnce(t *testing.T) {
	const late = 3 * time.Second
	synctest.Test(t, func(t *testing.T) {
		// After a late ping, a message still moves the deadline once, to
		// PingTimeout after it, as in engine.io 6.6.
		s, ft := fakeSession(t, heartbeatOpts, lateTimers(func(n int) time.Duration {
			if n == 0 {
				return late
			}
			return 0
		}))
		msg := transport.TextPacket("busy")
		time.Sleep(testInterval + late)
		require.Equal(t, []string{"2"}, sent(s, ft))
		time.Sleep(time.Second / 2)
		require.NoError(t, s.Deliver(ft, msg))
		extended := time.Now().Add(testTimeout)
		time.Sleep(time.Second)
		require.NoError(t, s.Deliver(ft, msg))
		time.Sleep(time.Until(extended) - time.Nanosecond)
		assert.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		assert.False(t, isOpen(s), "the deadline was extended twice")
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
	})
}

func TestHeartbeatStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		s.closeWith(ReasonForcedClose, nil, false)
		time.Sleep(10 * testInterval)
		assert.Empty(t, sent(s, ft))
		assert.Equal(t, ReasonForcedClose, Reason(s.Err()))
	})
}

func TestHeartbeatLingerBoundsFinalFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A session closed with a flush waits for its writer at most
		// PingTimeout, then ends anyway.
		s, _ := fakeSession(t, heartbeatOpts)
		require.NoError(t, s.Close())
		time.Sleep(testTimeout - time.Nanosecond)
		assert.True(t, isOpen(s))
		assert.Equal(t, 1, s.engine.Count())
		time.Sleep(time.Nanosecond)
		assert.False(t, isOpen(s))
		assert.Equal(t, 0, s.engine.Count())
		assert.Equal(t, ReasonForcedClose, Reason(s.Err()))
	})
}

// TestHeartbeatOverNetwork runs the heartbeat for real, with short
// intervals. It is not parallel, so that other tests do not delay the pongs.
func TestHeartbeatOverNetwork(t *testing.T) {
	// The timeout leaves a loaded machine's test goroutine time to answer.
	const interval, timeout = 50 * time.Millisecond, 250 * time.Millisecond
	for _, mode := range []string{modePolling, modeWebSocket} {
		t.Run(mode, func(t *testing.T) {
			ts := newTestServer(t, &Options{PingInterval: interval, PingTimeout: timeout})
			// The first ping is due PingInterval after the handshake.
			last := time.Now()
			c := ts.connect(t, mode)
			// A client that answers survives several rounds.
			for range 4 {
				p := c.recv(t)
				require.Equal(t, transport.Ping, p.Type)
				assert.GreaterOrEqual(t, time.Since(last), interval)
				// The server's clock for the next ping starts after this.
				last = time.Now()
				c.send(t, transport.Packet{Type: transport.Pong})
				require.NoError(t, c.sess.Err())
			}
			// A silent one is dropped after one more ping.
			require.Eventually(t, func() bool { return Reason(c.sess.Err()) == ReasonPingTimeout },
				waitFor, time.Millisecond)
			assert.GreaterOrEqual(t, time.Since(last), interval+timeout)
			assert.Equal(t, 0, ts.engine.Count())
		})
	}
}
