package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Socket is the client's side of one namespace, multiplexed over its
// Client's connection. Get one with Client.Socket, register handlers, then
// call Connect.
//
// A Socket is active from Connect until it is disconnected (by either side),
// refused by the server, or given up on after failed reconnections. While
// active and connected, emitted events go out at once; while active but not
// connected (connecting, or waiting to reconnect), they are buffered and
// sent, in order, once the namespace is joined again, up to
// Options.MaxQueuedPackets (see the package documentation's Queues). An
// inactive Socket refuses to emit.
//
// A Socket is safe for concurrent use.
type Socket struct {
	c         *Client
	namespace string
	auth      any

	mu                  sync.Mutex
	active              bool                      // guarded by mu: Connect called and not stopped since
	connected           bool                      // guarded by mu: the namespace is joined
	eng                 *engine                   // guarded by mu: session the CONNECT went out on; once connected, the one carrying the socket
	sid                 string                    // guarded by mu: Socket.IO sid while connected
	lastErr             error                     // guarded by mu: why the socket stopped being active
	changed             chan struct{}             // guarded by mu: closed and replaced on each state change
	connectPkts         []transport.Packet        // guarded by mu: the encoded CONNECT, auth included
	authObject          map[string]any            // guarded by mu: the auth payload as an object, for the recovery fields (nil without auth)
	pid                 string                    // guarded by mu: the private id of the last CONNECT reply (connection state recovery), "" if none
	lastOffset          string                    // guarded by mu: the trailing string of the newest event queued for the handlers while pid was set
	hasOffset           bool                      // guarded by mu: lastOffset was set by an event
	recovered           bool                      // guarded by mu: the last CONNECT reply carried the pid sent with it
	early               []*Event                  // guarded by mu: events that arrived on eng before the CONNECT reply
	disconnectPkts      []transport.Packet        // guarded by mu: the encoded DISCONNECT
	buffer              []outbound                // guarded by mu: events emitted while not connected
	buffered            int                       // guarded by mu: packets in buffer, bounded by Options.MaxQueuedPackets
	nextID              uint64                    // guarded by mu: the next ack id
	acks                map[uint64]*pendingAck    // guarded by mu: by ack id
	handlers            map[string][]EventHandler // guarded by mu: by event name
	anyHandlers         []EventHandler            // guarded by mu
	connectHandler      func()                    // guarded by mu
	disconnectHandler   func(DisconnectReason)    // guarded by mu
	connectErrorHandler func(error)               // guarded by mu
}

func newSocket(c *Client, namespace string, opts *SocketOptions) *Socket {
	s := &Socket{
		c:         c,
		namespace: namespace,
		changed:   make(chan struct{}),
		acks:      make(map[uint64]*pendingAck),
		handlers:  make(map[string][]EventHandler),
	}
	if opts != nil {
		s.auth = opts.Auth
	}
	return s
}

// Namespace returns the socket's namespace, such as "/" or "/admin".
func (s *Socket) Namespace() string { return s.namespace }

// ID returns the Socket.IO id the server gave this socket when it joined
// the namespace (a new one on each connection, unless the connection
// restored the previous one: see Recovered), or "" while not connected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sid
}

// Connected reports whether the namespace is joined now.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is active: connected, or trying to
// (re)connect. A socket disconnected by the server is not active and is
// not reconnected.
func (s *Socket) Active() bool { return s.isActive() }

func (s *Socket) isActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// changedLocked wakes everyone waiting for a state change.
func (s *Socket) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// encodeLocked encodes p into Engine.IO packets.
func (s *Socket) encodeLocked(p *parser.Packet) ([]transport.Packet, error) {
	frames, err := s.c.codec.Encode(p)
	if err != nil {
		return nil, err
	}
	pkts := make([]transport.Packet, len(frames))
	for i, f := range frames {
		pkts[i] = transport.Packet{Type: transport.Message, Data: f.Data, Binary: f.Binary}
	}
	return pkts, nil
}

// Connect joins the namespace: it activates the socket, sends CONNECT with
// the auth payload (opening the connection first if none is open) and waits
// for the server's answer. It returns nil once connected, a *ConnectError
// when the server refused (the socket is then inactive), or another error
// when the socket stopped (ErrClosed, ErrReconnectFailed, or a
// *DisconnectError when reconnection is disabled).
//
// While Connect waits, a lost connection is retried as configured. If ctx
// ends first, Connect gives up: the socket is deactivated, as by
// Disconnect, and ctx's error is returned. Connect on a connected socket
// returns nil at once.
func (s *Socket) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	if s.c.shut.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if err := s.prepareLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	if !s.active {
		s.active = true
		s.lastErr = nil
		s.changedLocked()
	}
	s.mu.Unlock()
	if err := s.c.ensureOpen(s); err != nil {
		s.deactivate(err)
		return err
	}
	for {
		s.mu.Lock()
		connected, active, lastErr, changed := s.connected, s.active, s.lastErr, s.changed
		s.mu.Unlock()
		switch {
		case connected:
			return nil
		case !active && lastErr != nil:
			return lastErr
		case !active:
			return ErrInactive
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if s.Connected() {
				return nil
			}
			s.Disconnect()
			return fmt.Errorf("client: connect to namespace %q: %w", s.namespace, ctx.Err())
		}
	}
}

// prepareLocked encodes the CONNECT and DISCONNECT packets once.
func (s *Socket) prepareLocked() error {
	if s.connectPkts != nil {
		return nil
	}
	conn, err := s.encodeLocked(&parser.Packet{Type: parser.Connect, Namespace: s.namespace, Payload: s.auth})
	if err != nil {
		return fmt.Errorf("client: encode auth for namespace %q: %w", s.namespace, err)
	}
	disc, err := s.encodeLocked(&parser.Packet{Type: parser.Disconnect, Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("client: encode disconnect for namespace %q: %w", s.namespace, err)
	}
	obj, err := s.decodeAuthLocked(conn)
	if err != nil {
		return fmt.Errorf("client: auth for namespace %q: %w", s.namespace, err)
	}
	s.connectPkts, s.disconnectPkts, s.authObject = conn, disc, obj
	return nil
}

// Disconnect leaves the namespace: if connected, it sends DISCONNECT and
// runs the OnDisconnect handler with ReasonClientDisconnect. The socket
// becomes inactive: buffered events are dropped and pending
// acknowledgements fail with a *DisconnectError. When no socket of the
// client is active any more, the connection is closed, as socket.io-client
// does; Connect reopens it. Disconnect on an inactive socket does nothing.
func (s *Socket) Disconnect() {
	s.mu.Lock()
	if !s.active && !s.connected {
		s.mu.Unlock()
		return
	}
	was := s.connected
	if was {
		_ = s.eng.enqueue(s.disconnectPkts...)
		s.eng, s.connected, s.sid = nil, false, ""
	}
	// When not connected, s.eng (if set) keeps the session the CONNECT
	// went out on, so that a late CONNECT reply is answered with a
	// DISCONNECT.
	s.stopLocked(&DisconnectError{Reason: ReasonClientDisconnect})
	if was {
		s.dispatchDisconnectLocked(ReasonClientDisconnect)
	}
	s.mu.Unlock()
	s.c.maybeIdle()
}

// stopLocked makes the socket inactive because of err: buffered events are
// dropped and every pending acknowledgement fails with err.
func (s *Socket) stopLocked(err error) {
	s.active = false
	s.early = nil
	s.lastErr = err
	s.buffer, s.buffered = nil, 0
	s.failAcksLocked(err, false)
	s.changedLocked()
}

// sendConnect sends the socket's CONNECT on e, once per session, if the
// socket is active and not connected.
func (s *Socket) sendConnect(e *engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active || s.connected || s.eng == e || s.connectPkts == nil {
		return
	}
	s.early = nil
	if e.enqueue(s.connectPacketsLocked()...) == nil {
		s.eng = e
	}
}

// onConnect handles the server's CONNECT reply {"sid": ..., "pid": ...}:
// the socket is connected, the events that arrived before the reply go to
// the handlers, its buffered events are sent, and OnConnect runs, in that
// order, as in socket.io-client.
func (s *Socket) onConnect(e *engine, msg *parser.Message) {
	var reply map[string]any
	if msg.Payload != nil {
		_ = msg.Payload.Decode(&reply)
	}
	sid, _ := reply["sid"].(string)
	pid, _ := reply["pid"].(string)

	s.mu.Lock()
	if s.eng != e || s.connected {
		s.mu.Unlock()
		return
	}
	early := s.early
	s.early = nil
	if !s.active {
		// Disconnect was called while the CONNECT was in flight.
		s.eng = nil
		_ = e.enqueue(s.disconnectPkts...)
		s.mu.Unlock()
		return
	}
	if sid == "" {
		s.eng = nil
		err := &ConnectError{Namespace: s.namespace, Message: "CONNECT reply without a sid"}
		s.stopLocked(err)
		s.dispatchConnectErrorLocked(err)
		s.mu.Unlock()
		s.c.maybeIdle()
		return
	}
	s.connected = true
	s.sid = sid
	s.setPIDLocked(pid)
	for _, ev := range early {
		s.dispatchEventLocked(ev)
	}
	s.flushLocked(e)
	s.changedLocked()
	s.c.disp.push(func() {
		s.mu.Lock()
		f := s.connectHandler
		s.mu.Unlock()
		if f != nil {
			f()
		}
	})
	s.mu.Unlock()
}

// onConnectError handles CONNECT_ERROR: the server refused the namespace.
// The socket becomes inactive and is not retried.
func (s *Socket) onConnectError(e *engine, msg *parser.Message) {
	ce := &ConnectError{Namespace: s.namespace}
	if msg.Payload != nil {
		var v any
		if msg.Payload.Decode(&v) == nil {
			switch v := v.(type) {
			case string:
				ce.Message = v
			case map[string]any:
				ce.Message, _ = v["message"].(string)
				ce.Data = v["data"]
			}
		}
	}
	s.mu.Lock()
	if s.eng != e || s.connected {
		s.mu.Unlock()
		return
	}
	s.eng, s.early = nil, nil
	if !s.active {
		s.mu.Unlock()
		return
	}
	s.stopLocked(ce)
	s.dispatchConnectErrorLocked(ce)
	s.mu.Unlock()
	s.c.maybeIdle()
}

// onServerDisconnect handles the server's DISCONNECT: the socket is
// disconnected with "io server disconnect" and is not reconnected.
func (s *Socket) onServerDisconnect(e *engine) {
	s.mu.Lock()
	if s.eng != e || !s.connected {
		s.mu.Unlock()
		return
	}
	s.eng, s.connected, s.sid = nil, false, ""
	s.stopLocked(&DisconnectError{Reason: ReasonServerDisconnect})
	s.dispatchDisconnectLocked(ReasonServerDisconnect)
	s.mu.Unlock()
	s.c.maybeIdle()
}

// engineLost is called for every socket when session e ends. A socket
// connected over e is disconnected with reason; acknowledgements for
// events already sent fail, while buffered events (and their pending
// acknowledgements) wait for the next session. With stop set (no
// reconnection will follow) the socket also becomes inactive.
func (s *Socket) engineLost(e *engine, reason DisconnectReason, err error, stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	derr := &DisconnectError{Reason: reason, Err: err}
	if s.eng == e {
		was := s.connected
		s.eng, s.connected, s.sid, s.early = nil, false, "", nil
		s.failAcksLocked(derr, true)
		if was {
			s.dispatchDisconnectLocked(reason)
		}
		s.changedLocked()
	}
	if stop && s.active {
		s.stopLocked(derr)
	}
}

// openFailed is called for every socket when an attempt to open a session
// fails: an active socket waiting to connect gets OnConnectError, and with
// stop set it becomes inactive.
func (s *Socket) openFailed(err error, stop bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active || s.connected {
		return
	}
	s.dispatchConnectErrorLocked(err)
	if stop {
		s.stopLocked(err)
	}
}

// deactivate makes an active socket inactive because of err.
func (s *Socket) deactivate(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active {
		s.stopLocked(err)
	}
}

// closeByClient is Client.Close's part for one socket: DISCONNECT if it is
// connected over e, then inactive with ErrClosed.
func (s *Socket) closeByClient(e *engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.connected
	if was && e != nil && s.eng == e {
		_ = e.enqueue(s.disconnectPkts...)
	}
	s.eng, s.connected, s.sid = nil, false, ""
	if s.active || was {
		s.stopLocked(ErrClosed)
	}
	if was {
		s.dispatchDisconnectLocked(ReasonClientDisconnect)
	}
}

func (s *Socket) dispatchDisconnectLocked(reason DisconnectReason) {
	s.c.disp.push(func() {
		s.mu.Lock()
		f := s.disconnectHandler
		s.mu.Unlock()
		if f != nil {
			f(reason)
		}
	})
}

func (s *Socket) dispatchConnectErrorLocked(err error) {
	s.c.disp.push(func() {
		s.mu.Lock()
		f := s.connectErrorHandler
		s.mu.Unlock()
		if f != nil {
			f(err)
		}
	})
}

// OnConnect sets the function run each time the namespace is joined: after
// Connect, and again after every reconnection. It replaces any earlier one.
func (s *Socket) OnConnect(f func()) {
	s.mu.Lock()
	s.connectHandler = f
	s.mu.Unlock()
}

// OnDisconnect sets the function run each time the socket is disconnected,
// with the reason. After ReasonServerDisconnect and ReasonClientDisconnect
// the socket is inactive; after the other reasons the client reconnects
// (unless reconnection is disabled). It replaces any earlier one.
func (s *Socket) OnDisconnect(f func(reason DisconnectReason)) {
	s.mu.Lock()
	s.disconnectHandler = f
	s.mu.Unlock()
}

// OnConnectError sets the function run when joining the namespace fails:
// with a *ConnectError when the server refused it (the socket is then
// inactive), or with the error of a failed attempt to open the connection
// (the client retries unless reconnection is disabled). It replaces any
// earlier one.
func (s *Socket) OnConnectError(f func(err error)) {
	s.mu.Lock()
	s.connectErrorHandler = f
	s.mu.Unlock()
}
