package ferry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRateLimit checks the limiter of the parser-mismatch warning, on
// explicit times: one event per interval passes, with the count of those
// held back since the last one.
func TestRateLimit(t *testing.T) {
	r := rateLimit{every: time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type result struct {
		pass bool
		held int
	}
	at := func(d time.Duration) result {
		pass, held := r.allow(t0.Add(d))
		return result{pass, held}
	}
	require.Equal(t, result{true, 0}, at(0), "the first passes")
	require.Equal(t, result{false, 0}, at(time.Second))
	require.Equal(t, result{false, 0}, at(time.Minute-time.Nanosecond))
	require.Equal(t, result{true, 2}, at(time.Minute), "the next passes an interval later, counting those held")
	require.Equal(t, result{false, 0}, at(time.Minute+time.Second))
	require.Equal(t, result{true, 1}, at(time.Hour))
	require.Equal(t, result{true, 0}, at(2*time.Hour), "nothing held since")
}
