package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffDelay(t *testing.T) {
	r := 0.0
	b := backoff{min: time.Second, max: 5 * time.Second, jitter: 0.5, rnd: func() float64 { return r }}

	r = 0.5 // no deviation
	assert.Equal(t, time.Second, b.delay(0))
	assert.Equal(t, 2*time.Second, b.delay(1))
	assert.Equal(t, 4*time.Second, b.delay(2))
	assert.Equal(t, 5*time.Second, b.delay(3), "capped at max")
	assert.Equal(t, 5*time.Second, b.delay(1000), "no overflow on many attempts")

	r = 0 // lowest: delay × (1 - jitter)
	assert.Equal(t, 500*time.Millisecond, b.delay(0))
	assert.Equal(t, 2*time.Second, b.delay(2))
	r = 0.999999 // highest: delay × (1 + jitter), still capped
	assert.InDelta(t, float64(1500*time.Millisecond), float64(b.delay(0)), float64(time.Millisecond))
	assert.Equal(t, 5*time.Second, b.delay(2))

	b.jitter = 0
	r = 0
	assert.Equal(t, 2*time.Second, b.delay(1), "no jitter")
}
