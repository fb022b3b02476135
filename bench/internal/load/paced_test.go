package load

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBroadcastSpread(t *testing.T) {
	// Three clients, two broadcasts: the k-th latencies of all clients
	// are one broadcast's; a client that read fewer bounds the count.
	ms := func(ds ...int) []time.Duration {
		var out []time.Duration
		for _, d := range ds {
			out = append(out, time.Duration(d)*time.Millisecond)
		}
		return out
	}
	first, spread := broadcastSpread([][]time.Duration{ms(5, 9, 1), ms(2, 12), ms(7, 10, 3)})
	assert.Equal(t, ms(2, 9), first)
	assert.Equal(t, ms(5, 3), spread)

	first, spread = broadcastSpread(nil)
	assert.Empty(t, first)
	assert.Empty(t, spread)
}
