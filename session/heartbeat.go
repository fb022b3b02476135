package session

import (
	"time"

	"github.com/ferryio/ferry/transport"
)

// heartbeat is a session's ping state. One timer serves both steps: it
// fires PingInterval after the handshake or the last pong to send a ping,
// then PingTimeout after the ping was due to close the session if no pong
// came. Deadlines are counted from when the timer was due, not from when
// it fired, so that a late firing does not push the close later: a silent
// client is closed PingInterval+PingTimeout after its last pong.
// All fields are guarded by the session's mu.
type heartbeat struct {
	timer        *time.Timer
	due          time.Time // when the timer is meant to fire; earlier firings are stale
	awaitingPong bool
	extended     bool // the pong deadline was already extended once
}

// startHeartbeatLocked arms the first ping.
func (s *Session) startHeartbeatLocked() {
	d := s.engine.opts.PingInterval
	s.hb.due = time.Now().Add(d)
	s.hb.timer = time.AfterFunc(d, s.heartbeatFired)
}

// resetLocked re-arms the timer to fire after d.
func (h *heartbeat) resetLocked(d time.Duration) {
	h.rearmLocked(time.Now().Add(d))
}

// rearmLocked re-arms the timer to fire at due, at once if that has passed.
func (h *heartbeat) rearmLocked(due time.Time) {
	h.due = due
	h.timer.Reset(time.Until(due))
}

func (h *heartbeat) stop() {
	if h.timer != nil {
		h.timer.Stop()
	}
}

// heartbeatFired sends a ping, or closes the session if the last ping went
// unanswered.
func (s *Session) heartbeatFired() {
	if hook := s.engine.testHookHeartbeat; hook != nil {
		hook()
	}
	s.mu.Lock()
	if s.state != stateOpen || time.Now().Before(s.hb.due) {
		// Closed, or re-armed after this firing was scheduled.
		s.mu.Unlock()
		return
	}
	if s.hb.awaitingPong {
		s.mu.Unlock()
		s.closeWith(ReasonPingTimeout, nil, false)
		return
	}
	s.hb.awaitingPong = true
	s.hb.extended = false
	s.queue = append(s.queue, transport.Packet{Type: transport.Ping})
	// The pong is due PingTimeout after the ping was due, however late
	// this firing is.
	s.hb.rearmLocked(s.hb.due.Add(s.engine.opts.PingTimeout))
	cur := s.current
	s.mu.Unlock()
	cur.Wake()
}

// pongLocked records a pong: the next ping is PingInterval from now.
func (s *Session) pongLocked() {
	if !s.hb.awaitingPong {
		return
	}
	s.hb.awaitingPong = false
	s.hb.resetLocked(s.engine.opts.PingInterval)
}

// activityLocked records a packet other than a pong. As in engine.io 6.6, a
// busy client whose pong is late gets its deadline extended once by a full
// PingTimeout.
func (s *Session) activityLocked() {
	if s.hb.awaitingPong && !s.hb.extended {
		s.hb.extended = true
		s.hb.resetLocked(s.engine.opts.PingTimeout)
	}
}
