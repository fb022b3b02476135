package session

import (
	"slices"
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
		if s.peerBusyLocked() {
			cur := s.current
			s.mu.Unlock()
			cur.Wake()
			return
		}
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

// progressReporter is implemented by transports that can tell when bytes
// last moved between them and the client (polling and WebSocket do).
type progressReporter interface {
	LastProgress() time.Time
}

// peerBusyLocked decides, when a pong is overdue, whether the client is
// alive all the same: bytes moved on its transport within the last
// PingTimeout (a large message still arriving from it, or one it is still
// taking). Its pong is then queued behind those bytes, or the ping behind
// them, and a ping timeout would cut a working connection. The deadline
// moves to PingTimeout after that progress, and another ping is queued,
// unless one is still waiting to go out: a client whose own outbound
// message holds its pong back still hears pings, and its silence timer
// (PingInterval+PingTimeout since the last ping) does not run out. A dead
// client moves no bytes, and is closed PingTimeout after the last ones.
func (s *Session) peerBusyLocked() bool {
	pr, ok := s.current.(progressReporter)
	if !ok {
		return false
	}
	last := pr.LastProgress()
	timeout := s.engine.opts.PingTimeout
	if last.IsZero() || time.Since(last) >= timeout {
		return false
	}
	if !slices.ContainsFunc(s.queue, func(p transport.Packet) bool { return p.Type == transport.Ping }) {
		s.queue = append(s.queue, transport.Packet{Type: transport.Ping})
	}
	s.hb.rearmLocked(last.Add(timeout))
	return true
}
