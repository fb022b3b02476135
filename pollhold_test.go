package ferry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Options.MaxPollHold reaches the engine: a long-poll with nothing to send
// is answered with a noop after it, long before the ping interval.
func TestMaxPollHoldOption(t *testing.T) {
	const hold = 100 * time.Millisecond
	m := mode{name: "polling", transports: []string{"polling"}, codec: parser.Msgpack()}
	ts := m.serve(t, &ferry.Options{MaxPollHold: hold, PingInterval: time.Minute})
	r := ts.dialRaw(t, "polling")
	start := time.Now()
	p := r.readEngine()
	require.Equal(t, transport.Noop, p.Type, "a noop answers the held GET")
	assert.GreaterOrEqual(t, time.Since(start), hold)
	assert.Less(t, time.Since(start), time.Minute/2)
}
