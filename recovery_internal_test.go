package ferry

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// fakeClock is a settable clock for the recovery log.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRecoveryWindow(t *testing.T) {
	// A session is restored within MaxDisconnectionDuration, and not after;
	// events older than the window are dropped, so an offset among them no
	// longer recovers.
	srv := NewServer(&Options{ConnectionStateRecovery: &RecoveryOptions{MaxDisconnectionDuration: time.Minute}})
	t.Cleanup(func() { srv.Close() })
	log := srv.Of("/").Adapter().(*MemoryAdapter).rec
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	log.now = clock.Now

	appendEvent := func(room string) string {
		pkt := newEventPacket("e", nil)
		_, err := log.append(pkt, BroadcastOptions{Rooms: []string{room}}, func() ([]transport.Packet, error) {
			return pkt.encodeFor(srv, "/", 0, false)
		})
		require.NoError(t, err)
		return pkt.Offset
	}
	first := appendEvent("r")
	state := func(pid string) *SessionState {
		return &SessionState{SID: "sid-" + pid, PID: pid, Rooms: []string{"sid-" + pid, "r"}}
	}

	log.persist(state("a"))
	clock.advance(59 * time.Second)
	appendEvent("r")
	s, missed := log.take("a", first)
	require.NotNil(t, s, "restored within the window")
	require.Len(t, missed, 1)

	log.persist(state("b"))
	clock.advance(time.Minute)
	s, _ = log.take("b", first)
	require.Nil(t, s, "not restored after the window")

	log.persist(state("c"))
	s, _ = log.take("c", first)
	require.Nil(t, s, "the offset of an event older than the window is no longer known")
}
