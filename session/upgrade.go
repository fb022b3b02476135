package session

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// errUnexpectedProbePacket aborts an upgrade whose WebSocket sent something
// other than "2probe" then "5".
var errUnexpectedProbePacket = fmt.Errorf("session: unexpected packet on the upgrading WebSocket: %w", transport.ErrUnexpectedPacket)

// upgrade handles a WebSocket request carrying the sid of a session. If the
// session may upgrade, the WebSocket starts probing; otherwise, as in the
// reference server, it is accepted and closed at once.
func (e *Engine) upgrade(w http.ResponseWriter, r *http.Request, s *Session) {
	if !s.mayUpgrade() {
		if conn, err := e.ws.Upgrade(w, r); err == nil {
			conn.Close()
		}
		return
	}
	conn, err := e.ws.Upgrade(w, r)
	if err != nil {
		e.logger.Debug("websocket upgrade refused", "sid", s.id, "err", err)
		if e.obs != nil {
			e.obs.Refused(RefusedBadRequest)
		}
		return
	}
	t := websocket.New(e.ws, conn, s)
	started, ok := s.beginProbe(t)
	if !ok {
		t.Close()
		return
	}
	started()
	t.Start()
}

// beginProbe makes t the transport being probed, unless the session
// closed or another upgrade began meanwhile. Its caller then calls started,
// which reports the UpgradeStarted event, before t delivers anything.
func (s *Session) beginProbe(t transport.Transport) (started func(), ok bool) {
	s.mu.Lock()
	if s.state != stateOpen || s.probe != nil || s.upgraded {
		s.mu.Unlock()
		return nil, false
	}
	s.probe = t
	s.upTimer = time.AfterFunc(s.engine.opts.UpgradeTimeout, func() { s.abortUpgrade(t, ErrUpgradeTimeout) })
	f := s.onUpgrade
	s.mu.Unlock()
	return func() { s.reportUpgrade(f, UpgradeEvent{Phase: UpgradeStarted, Transport: t.Name()}) }, true
}

// mayUpgrade reports whether a new WebSocket may start an upgrade.
func (s *Session) mayUpgrade() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateOpen && !s.engine.opts.DisableUpgrades &&
		!s.upgraded && s.probe == nil && s.current.Name() == transport.NamePolling
}

// deliverProbeLocked handles a packet from the WebSocket being probed. It is
// called with s.mu held and releases it.
func (s *Session) deliverProbeLocked(t transport.Transport, p transport.Packet) error {
	switch {
	case p.Type == transport.Ping && string(p.Data) == "probe" && !s.probed:
		s.probed = true
		s.probeQueue = append(s.probeQueue, transport.Packet{Type: transport.Pong, Data: []byte("probe")})
		cur := s.current
		s.mu.Unlock()
		t.Wake()
		// Release the parked long-poll so the client can pause polling.
		cur.Wake()
		return nil
	case p.Type == transport.Upgrade && s.probed:
		old := s.current
		s.current, s.previous = t, old
		s.probe, s.probed, s.upgraded = nil, false, true
		s.upTimer.Stop()
		f := s.onUpgrade
		s.mu.Unlock()
		// A long-poll still parked now gets a close packet; everything
		// queued goes out over the WebSocket, in order.
		old.Close()
		t.Wake()
		s.reportUpgrade(f, UpgradeEvent{Phase: UpgradeDone, Transport: t.Name()})
		return nil
	default:
		// The transport ends with this error, and TransportClosed then
		// abandons the upgrade.
		s.mu.Unlock()
		return errUnexpectedProbePacket
	}
}

// abortUpgrade abandons the upgrade on t, if t is still probing; the
// session carries on over long-polling.
func (s *Session) abortUpgrade(t transport.Transport, cause error) {
	s.mu.Lock()
	if s.probe != t {
		s.mu.Unlock()
		return
	}
	s.probe, s.probed, s.probeQueue = nil, false, nil
	s.upTimer.Stop()
	f := s.onUpgrade
	open := s.state == stateOpen
	s.mu.Unlock()
	t.Close()
	if open && !errors.Is(cause, transport.ErrPeerClosed) {
		s.engine.logger.Info("upgrade aborted; session stays on long-polling", "sid", s.id, "err", cause)
	} else {
		s.engine.logger.Debug("upgrade abandoned", "sid", s.id, "err", cause)
	}
	s.reportUpgrade(f, UpgradeEvent{Phase: UpgradeAborted, Transport: t.Name(), Err: cause})
}
