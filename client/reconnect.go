package client

import (
	"time"
)

// backoff computes reconnection delays: min doubling on each attempt,
// spread uniformly over ±jitter of itself, capped at max.
type backoff struct {
	min, max time.Duration
	jitter   float64        // in [0, 1]
	rnd      func() float64 // uniform in [0, 1)
}

// delay returns the wait before reconnection attempt n (0 for the first).
func (b backoff) delay(n int) time.Duration {
	d := float64(b.min)
	for i := 0; i < n && d < float64(b.max); i++ {
		d *= 2
	}
	if b.jitter > 0 {
		d *= 1 + b.jitter*(2*b.rnd()-1)
	}
	if d > float64(b.max) {
		d = float64(b.max)
	}
	return time.Duration(d)
}

// openLoop opens a new session for the active sockets. With reconnecting
// false (a socket connects while no session is open) it tries at once;
// otherwise, and after a failed first try when reconnection is enabled, it
// waits the backoff delay before each attempt. It stops when a session is
// installed, when no socket is active any more, when the client closes, or
// after Options.ReconnectionAttempts attempts.
func (c *Client) openLoop(reconnecting bool) {
	if !reconnecting {
		if c.tryOpen(0) || c.opts.DisableReconnection {
			return
		}
	}
	for attempt := 1; ; attempt++ {
		if max := c.opts.ReconnectionAttempts; max > 0 && attempt > max {
			c.reconnectFailed()
			return
		}
		t := time.NewTimer(c.backoff.delay(attempt - 1))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			c.stopOpening()
			return
		}
		c.mu.Lock()
		f := c.onReconnectAttempt
		c.mu.Unlock()
		if f != nil {
			c.disp.push(func() { f(attempt) })
		}
		if c.tryOpen(attempt) {
			return
		}
	}
}

// tryOpen makes one attempt to open and install a session. It reports true
// when the loop is over: the session is installed, or there is nothing left
// to do (client closed, no socket active, or reconnection disabled after a
// failure).
func (c *Client) tryOpen(attempt int) bool {
	c.mu.Lock()
	if c.closed || !c.anyActiveLocked() {
		c.opening = false
		c.mu.Unlock()
		return true
	}
	c.mu.Unlock()
	e, ws, err := c.openEngine(c.ctx)
	if err != nil {
		if c.ctx.Err() != nil {
			c.stopOpening()
			return true
		}
		c.log.Debug("client: connection attempt failed", "attempt", attempt, "err", err)
		for _, s := range c.socketList() {
			s.openFailed(err, c.opts.DisableReconnection)
		}
		if c.opts.DisableReconnection {
			c.stopOpening()
			return true
		}
		return false
	}
	c.install(e, ws, attempt)
	return true
}

func (c *Client) stopOpening() {
	c.mu.Lock()
	c.opening = false
	c.mu.Unlock()
}

// reconnectFailed gives up: every active socket becomes inactive and its
// Connect fails with ErrReconnectFailed.
func (c *Client) reconnectFailed() {
	c.mu.Lock()
	c.opening = false
	f := c.onReconnectFailed
	socks := c.socketListLocked()
	c.mu.Unlock()
	for _, s := range socks {
		s.deactivate(ErrReconnectFailed)
	}
	if f != nil {
		c.disp.push(f)
	}
}
