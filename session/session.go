package session

import (
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferryio/ferry/transport"
)

type state int

const (
	stateOpen    state = iota
	stateClosing       // flushing its last packets, ending with a close packet
	stateClosed
)

// Handshake describes the HTTP request that opened a session. A session
// may live for hours and many are open at once, so it keeps no more than
// it must: the header packed in one string, and the query left in URL.
type Handshake struct {
	RemoteAddr string
	Host       string
	// URL is the request target as the client sent it, path and query
	// (the request's RequestURI; socket.io's handshake.url).
	URL string
	// Secure reports whether the request came over TLS.
	Secure bool
	// Time is when the handshake was received.
	Time time.Time

	header string // the request's header; see packHeader
}

// Header returns the request's header. Each call unpacks it into a new
// map, which the caller may keep and modify.
func (h Handshake) Header() http.Header {
	out := make(http.Header)
	for rest := h.header; rest != ""; {
		k, afterKey, ok := unpackString(rest)
		if !ok {
			break
		}
		v, afterValue, ok := unpackString(afterKey)
		if !ok {
			break
		}
		out[k] = append(out[k], v)
		rest = afterValue
	}
	return out
}

// Query parses the query string of URL. Each call parses it anew and
// returns a new map, as url.URL.Query does; malformed pairs are skipped.
func (h Handshake) Query() url.Values {
	_, query, _ := strings.Cut(h.URL, "?")
	v, _ := url.ParseQuery(query)
	return v
}

func newHandshake(r *http.Request) Handshake {
	target := r.RequestURI
	if target == "" {
		// A request built by hand and passed to ServeHTTP directly.
		target = r.URL.RequestURI()
	}
	return Handshake{
		RemoteAddr: r.RemoteAddr,
		Host:       r.Host,
		URL:        target,
		Secure:     r.TLS != nil,
		Time:       time.Now(),
		header:     packHeader(r.Header),
	}
}

// packHeader packs h into one string: for each value, its key and the
// value, each preceded by its length as a uvarint. That takes a few
// hundred bytes less than the map net/http parsed, and holds any key and
// value, whatever bytes they contain.
func packHeader(h http.Header) string {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += 2*binary.MaxVarintLen64 + len(k) + len(v)
		}
	}
	b := make([]byte, 0, n)
	for k, vs := range h {
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return string(b)
}

// unpackString reads one length-prefixed string written by packHeader and
// returns it and what follows; ok is false if s does not start with one.
func unpackString(s string) (str, rest string, ok bool) {
	var n uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		n |= uint64(s[i]&0x7f) << (7 * i)
		if s[i] < 0x80 {
			if n > uint64(len(s)-i-1) {
				return "", "", false
			}
			end := i + 1 + int(n)
			return s[i+1 : end], s[end:], true
		}
	}
	return "", "", false
}

// UpgradePhase is a step of the switch from long-polling to WebSocket.
type UpgradePhase int

// The upgrade phases.
const (
	// UpgradeStarted: a WebSocket for the session arrived and is probing
	// (socket.io's "upgrading").
	UpgradeStarted UpgradePhase = iota + 1
	// UpgradeDone: the session now writes and reads over the WebSocket
	// (socket.io's "upgrade").
	UpgradeDone
	// UpgradeAborted: the probe failed or timed out; the session carries on
	// over long-polling.
	UpgradeAborted
)

// String returns "upgrading", "upgrade" or "upgrade aborted".
func (p UpgradePhase) String() string {
	switch p {
	case UpgradeStarted:
		return "upgrading"
	case UpgradeDone:
		return "upgrade"
	case UpgradeAborted:
		return "upgrade aborted"
	}
	return "UpgradePhase(?)"
}

// UpgradeEvent reports a step of an upgrade, for diagnostics.
type UpgradeEvent struct {
	Phase UpgradePhase
	// Transport is the transport being upgraded to ("websocket").
	Transport string
	// Err says why an upgrade was aborted.
	Err error
}

// Session is one Engine.IO session: a client identified by its sid, over
// one transport at a time. Its methods are safe for concurrent use.
//
// The session owns the outbound queue. Send appends to it and wakes the
// current transport, whose single writer (the parked long-poll GET, or the
// WebSocket transport's writer) drains it in order. The queue is bounded by
// Options.MaxQueuedPackets; overflowing it closes the session.
//
// Inbound messages reach the OnMessage callback in the order the client
// sent them, on the goroutine of the transport that read them (a POST
// handler, or the WebSocket reader). A callback that blocks holds up that
// session's input, and nothing else.
type Session struct {
	id        string
	engine    *Engine
	handshake Handshake
	done      chan struct{}

	mu         sync.Mutex
	state      state                  // guarded by mu
	err        *CloseError            // guarded by mu
	queue      []transport.Packet     // guarded by mu: outbound packets, in order
	overflowed bool                   // guarded by mu: the queue overflowed, and the session is closing
	current    transport.Transport    // guarded by mu: the transport that writes
	previous   transport.Transport    // guarded by mu: the polling transport after an upgrade
	upgraded   bool                   // guarded by mu
	probe      transport.Transport    // guarded by mu: WebSocket being probed
	probeQueue []transport.Packet     // guarded by mu: packets for the probe only
	probed     bool                   // guarded by mu: "2probe" received on probe
	upTimer    *time.Timer            // guarded by mu: upgrade timeout
	linger     *time.Timer            // guarded by mu: bounds the final flush
	onMessage  func(transport.Packet) // guarded by mu
	onClose    func(*CloseError)      // guarded by mu
	onUpgrade  func(UpgradeEvent)     // guarded by mu

	hb heartbeat // guarded by mu
}

func newSession(e *Engine, id string, r *http.Request) *Session {
	return &Session{
		id:        id,
		engine:    e,
		handshake: newHandshake(r),
		done:      make(chan struct{}),
	}
}

// ID returns the session id (the Engine.IO sid).
func (s *Session) ID() string { return s.id }

// Handshake returns the request that opened the session.
func (s *Session) Handshake() Handshake { return s.handshake }

// Transport returns the name of the current transport: "polling" or
// "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.Name()
}

// Done is closed when the session has fully ended, after any final flush.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns nil while the session is open, then the *CloseError saying
// why it closed.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return nil
	}
	return s.err
}

// OnMessage sets the callback for message packets from the client. Set it
// in Options.OnConnection.
func (s *Session) OnMessage(f func(p transport.Packet)) {
	s.mu.Lock()
	s.onMessage = f
	s.mu.Unlock()
}

// OnClose sets the callback run once when the session closes.
func (s *Session) OnClose(f func(err *CloseError)) {
	s.mu.Lock()
	s.onClose = f
	s.mu.Unlock()
}

// OnUpgrade sets a callback for upgrade steps, for diagnostics.
func (s *Session) OnUpgrade(f func(e UpgradeEvent)) {
	s.mu.Lock()
	s.onUpgrade = f
	s.mu.Unlock()
}

// Send queues message packets for the client. It never blocks on the
// network. Packets' Data must not be modified afterwards; the same packets
// may be sent to many sessions.
//
// It returns ErrSessionClosed (as a *CloseError) once the session is
// closing, and ErrQueueFull if the queue would exceed
// Options.MaxQueuedPackets: the session then closes with ReasonQueueFull,
// on a goroutine of its own, so that the close callback never runs inside
// Send.
func (s *Session) Send(pkts ...transport.Packet) error {
	s.mu.Lock()
	if s.state != stateOpen {
		err := s.err
		s.mu.Unlock()
		return err
	}
	if s.overflowed {
		s.mu.Unlock()
		return ErrQueueFull
	}
	if len(s.queue)+len(pkts) > s.engine.opts.MaxQueuedPackets {
		// The session closes on a goroutine of its own: the caller may be
		// any goroutine (an application's, emitting, holding its own
		// locks), and the close callback runs the application's
		// disconnect handlers.
		s.overflowed = true
		s.mu.Unlock()
		go s.closeWith(ReasonQueueFull, ErrQueueFull, false)
		return ErrQueueFull
	}
	s.queue = append(s.queue, pkts...)
	cur := s.current
	s.mu.Unlock()
	cur.Wake()
	return nil
}

// SendVolatile queues pkts only if nothing is waiting to be written, so that
// a client that is behind misses them rather than receiving them late
// (socket.io's volatile emit). A long-polling client between two GETs with
// nothing pending still gets them with its next GET. It reports whether the
// packets were queued.
func (s *Session) SendVolatile(pkts ...transport.Packet) bool {
	s.mu.Lock()
	if s.state != stateOpen || s.overflowed || len(s.queue) > 0 {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, pkts...)
	cur := s.current
	s.mu.Unlock()
	cur.Wake()
	return true
}

// Close closes the session with ReasonForcedClose. Packets already queued
// are written first, followed by a close packet.
func (s *Session) Close() error {
	s.closeWith(ReasonForcedClose, nil, true)
	return nil
}

// Take implements transport.Session.
func (s *Session) Take(t transport.Transport) ([]transport.Packet, bool) {
	s.mu.Lock()
	pkts, last := s.takeLocked(t)
	s.mu.Unlock()
	if o := s.engine.obs; o != nil && len(pkts) > 0 {
		name := t.Name()
		o.PacketsOut(name, len(pkts), packetsSize(name, pkts))
	}
	if len(pkts) == 0 && s.engine.testHookIdlePoll != nil && t.Name() == transport.NamePolling {
		s.engine.testHookIdlePoll(s)
	}
	return pkts, last
}

// takeLocked is Take with s.mu held.
func (s *Session) takeLocked(t transport.Transport) ([]transport.Packet, bool) {
	if t == s.probe {
		pkts := s.probeQueue
		s.probeQueue = nil
		return pkts, false
	}
	if t != s.current {
		return nil, false
	}
	pkts := s.queue
	s.queue = nil
	switch s.state {
	case stateOpen:
		if len(pkts) == 0 && s.probed && t.Name() == transport.NamePolling {
			// An upgrade is probing: release the long-poll at once so the
			// client can pause polling and commit the upgrade.
			return []transport.Packet{{Type: transport.Noop}}, false
		}
		return pkts, false
	default:
		return pkts, len(pkts) > 0
	}
}

// Deliver implements transport.Session.
func (s *Session) Deliver(t transport.Transport, p transport.Packet) error {
	if o := s.engine.obs; o != nil {
		name := t.Name()
		o.PacketsIn(name, 1, packetSize(name, p))
	}
	s.mu.Lock()
	if t == s.probe && s.state != stateClosed {
		// Also while closing gracefully: see closeWith.
		return s.deliverProbeLocked(t, p)
	}
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	if t != s.current && t != s.previous {
		s.mu.Unlock()
		return ErrSessionClosed
	}
	switch p.Type {
	case transport.Pong:
		s.pongLocked()
		s.mu.Unlock()
	case transport.Message:
		s.activityLocked()
		f := s.onMessage
		s.mu.Unlock()
		if f != nil {
			f(p)
		}
	case transport.Close:
		s.mu.Unlock()
		s.closeWith(ReasonTransportClose, nil, false)
	case transport.Ping:
		// The transport ends with this error, and TransportClosed then
		// closes the session.
		s.mu.Unlock()
		return ErrInvalidHeartbeat
	default:
		// open, upgrade and noop mean nothing from a client on an open
		// transport; the reference server ignores them too.
		s.mu.Unlock()
	}
	return nil
}

// TransportClosed implements transport.Session.
func (s *Session) TransportClosed(t transport.Transport, err error) {
	s.mu.Lock()
	if t == s.probe {
		s.mu.Unlock()
		s.abortUpgrade(t, err)
		return
	}
	if t != s.current {
		if t == s.previous {
			s.previous = nil
		}
		s.mu.Unlock()
		return
	}
	st := s.state
	s.mu.Unlock()
	switch st {
	case stateOpen:
		s.closeWith(reasonFor(err), err, false)
	case stateClosing:
		s.finish()
	}
}

// reasonFor maps a transport's error to a close reason.
func reasonFor(err error) CloseReason {
	switch {
	case err == nil, errors.Is(err, transport.ErrPeerClosed):
		return ReasonTransportClose
	case errors.Is(err, transport.ErrInvalidPacket):
		return ReasonParseError
	default:
		return ReasonTransportError
	}
}

// closeWith closes the session once. With flush, queued packets and a close
// packet are written first, and the session stays reachable (for the
// long-poll that collects them) until they are written or the linger time
// passes; without, the transports close now and a parked long-poll is
// released with a noop.
func (s *Session) closeWith(reason CloseReason, cause error, flush bool) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.err = &CloseError{Reason: reason, Err: cause}
	s.hb.stop()
	var probe transport.Transport
	if !flush {
		// A graceful close lets an upgrade in progress finish: a client
		// that has paused polling to commit it can only receive the final
		// packets over the new WebSocket. Other closes abandon it.
		probe = s.probe
		s.probe, s.probeQueue = nil, nil
		if s.upTimer != nil {
			s.upTimer.Stop()
		}
	}
	prev, cur := s.previous, s.current
	onClose, onUpgrade := s.onClose, s.onUpgrade
	if flush {
		s.state = stateClosing
		s.queue = append(s.queue, transport.Packet{Type: transport.Close})
		s.linger = time.AfterFunc(s.engine.opts.PingTimeout, s.finish)
	} else {
		s.state = stateClosed
		s.queue = nil
		if reason == ReasonTransportClose && cur.Name() == transport.NamePolling {
			// The client sent a close packet: its pending long-poll, if
			// any, is released with a noop. Other closes answer it with a
			// close packet (see polling.Transport.Close).
			s.queue = []transport.Packet{{Type: transport.Noop}}
		}
	}
	err := s.err
	s.mu.Unlock()

	if probe != nil {
		probe.Close()
		s.reportUpgrade(onUpgrade, UpgradeEvent{Phase: UpgradeAborted, Transport: probe.Name(), Err: err})
	}
	if flush {
		cur.Wake()
	} else {
		s.engine.registry.remove(s)
		s.reportClosed(cur, reason)
		close(s.done)
		cur.Close()
		if prev != nil {
			prev.Close()
		}
	}
	s.engine.logger.Debug("session closed", "sid", s.id, "reason", reason.String(), "err", cause)
	if onClose != nil {
		onClose(err)
	}
}

// finish ends a session whose final flush is done or timed out.
func (s *Session) finish() {
	s.mu.Lock()
	if s.state != stateClosing {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	s.queue = nil
	s.linger.Stop()
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	cur, prev, probe := s.current, s.previous, s.probe
	s.probe, s.probeQueue = nil, nil
	onUpgrade, err := s.onUpgrade, s.err
	s.mu.Unlock()
	s.engine.registry.remove(s)
	s.reportClosed(cur, err.Reason)
	close(s.done)
	cur.Close()
	if prev != nil {
		prev.Close()
	}
	if probe != nil {
		// The client never committed the upgrade it started.
		probe.Close()
		s.reportUpgrade(onUpgrade, UpgradeEvent{Phase: UpgradeAborted, Transport: probe.Name(), Err: err})
	}
}
