package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// With MaxPollHold, the engine answers a long-poll held that long with a
// noop, well before the ping interval, and the session carries on.
func TestMaxPollHold(t *testing.T) {
	const hold = 100 * time.Millisecond
	ts := newTestServer(t, &Options{MaxPollHold: hold, PingInterval: time.Minute})
	c := ts.connect(t, modePolling)
	for range 3 {
		start := time.Now()
		pkts := c.poll(t)
		elapsed := time.Since(start)
		require.Equal(t, []string{"6"}, wire(pkts...), "a noop")
		assert.GreaterOrEqual(t, elapsed, hold)
		assert.Less(t, elapsed, waitFor)
		require.NoError(t, c.sess.Err())
	}
	c.sess.Send(transport.TextPacket("after"))
	assert.Equal(t, []string{"4after"}, wire(c.poll(t)...))
}
