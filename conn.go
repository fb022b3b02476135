package ferry

import (
	"context"
	"errors"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// Conn is a client's connection to the server (socket.io's socket.conn):
// one Engine.IO session, shared by the client's sockets in every namespace
// it joined. It tells what applications usually ask of it (the transport in
// use and its upgrade, the client's address, why the connection closed)
// and closes it; the session itself, whose callbacks Ferry uses, stays
// hidden. Its methods are safe for concurrent use.
//
// Callbacks added with OnUpgrade and OnClose run on the goroutine that
// notices the change (the connection's read goroutine, or the one that
// closed it), one at a time: keep them short. As for every handler, a panic
// in one is logged and ends the connection with ReasonServerError.
type Conn struct {
	server *Server
	sess   *session.Session
	// decMu serialises decoding and dispatch. A session's messages arrive
	// from one goroutine at a time, but from two different ones across an
	// upgrade; the lock keeps them in order and the decoder single-user.
	decMu sync.Mutex
	dec   parser.Decoder
	// decoded is guarded by decMu: a message from the client decoded with
	// the server's parser, after which a failure is no parser mismatch.
	decoded bool
	// foreign is guarded by decMu: the client's parser, when it was found
	// to differ from the server's (see onMismatch), else nil.
	foreign parser.Codec

	mu sync.Mutex
	// sockets is guarded by mu: one per namespace joined or being joined
	// (its middleware running). A connection joins few namespaces, so a
	// slice searched by name is enough.
	sockets []*Socket
	// connectTimer is guarded by mu: it closes a connection that joins no
	// namespace in time, and is dropped once one is joined.
	connectTimer *time.Timer
	joined       bool             // guarded by mu: a socket has passed its middleware
	closed       bool             // guarded by mu
	ended        bool             // guarded by mu: the session has closed, and the OnClose callbacks are taken to run
	reason       DisconnectReason // guarded by mu: why the connection closed, once it has
	// hooks is guarded by mu: the application's callbacks, nil until one
	// is added, as on most connections.
	hooks *connHooks
}

// connHooks are the callbacks added with Conn.OnUpgrade and Conn.OnClose.
type connHooks struct {
	onUpgrade []func(transport string)
	onClose   []func(DisconnectReason) // until they have run
}

// hooksLocked returns c.hooks, made if needed.
func (c *Conn) hooksLocked() *connHooks {
	if c.hooks == nil {
		c.hooks = new(connHooks)
	}
	return c.hooks
}

// onSession is the engine's connection callback.
func (s *Server) onSession(sess *session.Session) {
	c := &Conn{
		server: s,
		sess:   sess,
		dec:    s.codec.NewLimitedDecoder(s.opts.DecodeLimits),
	}
	// The timer is set under mu, which connectTimedOut takes first: a
	// short ConnectTimeout may fire before AfterFunc has returned.
	c.mu.Lock()
	c.connectTimer = time.AfterFunc(s.opts.ConnectTimeout, c.connectTimedOut)
	c.mu.Unlock()
	sess.OnMessage(c.onMessage)
	sess.OnClose(c.onSessionClose)
}

// ID returns the connection's Engine.IO session id (socket.io's
// socket.conn.id), which differs from the ids of its sockets.
func (c *Conn) ID() string { return c.sess.ID() }

// Transport returns the name of the transport in use, "polling" or
// "websocket" (socket.io's socket.conn.transport.name).
func (c *Conn) Transport() string { return c.sess.Transport() }

// RemoteAddr returns the client's IP address, without port (socket.io's
// socket.conn.remoteAddress): the address the request that opened the
// connection came from, which is a proxy's when there is one.
func (c *Conn) RemoteAddr() string { return hostOnly(c.sess.Handshake().RemoteAddr) }

// hostOnly returns the host part of a "host:port" address, or addr itself
// when it has no port.
func hostOnly(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// Done returns a channel closed once the connection has ended, its queued
// packets written or given up.
func (c *Conn) Done() <-chan struct{} { return c.sess.Done() }

// OnUpgrade adds a callback run when the connection switches to another
// transport (socket.io's socket.conn.on("upgrade")), with the new
// transport's name, "websocket". An upgrade happens at most once, soon
// after the connection opens, and may already be over when a connection
// handler runs: add the callback first, then read Transport.
func (c *Conn) OnUpgrade(f func(transport string)) {
	c.mu.Lock()
	h := c.hooksLocked()
	first := h.onUpgrade == nil
	h.onUpgrade = append(h.onUpgrade, f)
	c.mu.Unlock()
	if first {
		// Most connections have no such callback; only these pay for
		// hearing of upgrades.
		c.sess.OnUpgrade(c.onEngineUpgrade)
	}
}

// onEngineUpgrade is the session's upgrade callback, set by the first
// OnUpgrade.
func (c *Conn) onEngineUpgrade(e session.UpgradeEvent) {
	if e.Phase != session.UpgradeDone {
		return
	}
	c.mu.Lock()
	callbacks := c.hooks.onUpgrade
	c.mu.Unlock()
	defer c.recoverPanic()
	for _, f := range callbacks {
		f(e.Transport)
	}
}

// OnClose adds a callback run once the connection has closed (socket.io's
// socket.conn.on("close")), after every socket on it has disconnected, with
// the reason they saw. On a connection already closed, f runs at once.
func (c *Conn) OnClose(f func(reason DisconnectReason)) {
	c.mu.Lock()
	if c.ended {
		reason := c.reason
		c.mu.Unlock()
		f(reason)
		return
	}
	h := c.hooksLocked()
	h.onClose = append(h.onClose, f)
	c.mu.Unlock()
}

// Close closes the connection: each of its sockets disconnects with
// ReasonForcedClose, then what is queued is written and the transport
// closes. The client sees the connection drop and reconnects. It returns
// nil; on a closed connection it does nothing.
func (c *Conn) Close() error {
	c.close(ReasonForcedClose)
	return nil
}

// onMessage decodes one engine message and dispatches the packet it
// completes, if any. The handlers it runs are the application's: a panic
// in one ends this connection only (see recoverPanic).
func (c *Conn) onMessage(p transport.Packet) {
	c.decMu.Lock()
	defer c.decMu.Unlock()
	defer c.recoverPanic()
	if c.foreign != nil {
		c.onForeignMessage(p)
		return
	}
	msg, err := c.dec.Decode(p.Data, p.Binary)
	if err != nil {
		if !c.decoded && c.onMismatch(p) {
			return
		}
		c.server.logger.Debug("closing connection: malformed packet", "sid", c.sess.ID(), "err", err)
		c.close(ReasonParseError)
		return
	}
	c.decoded = true
	if msg == nil {
		return // waiting for binary attachments
	}
	if msg.Type == parser.Event && parser.IsReserved(msg.Event) {
		// The JSON decoder refuses reserved names itself; the msgpack one,
		// like socket.io-msgpack-parser, lets them through. Refuse them
		// here so that both parsers behave alike.
		c.server.logger.Debug("closing connection: reserved event name from client", "sid", c.sess.ID(), "event", msg.Event)
		c.close(ReasonParseError)
		return
	}
	if msg.Type == parser.Connect {
		c.connect(msg)
		return
	}
	c.mu.Lock()
	sock := c.socketLocked(msg.Namespace)
	c.mu.Unlock()
	if sock == nil || msg.Type == parser.ConnectError {
		// As in the reference server, a packet for a namespace this
		// connection has not joined, or a CONNECT_ERROR from a client,
		// closes the whole connection.
		c.server.logger.Debug("closing connection: packet for a namespace not joined",
			"sid", c.sess.ID(), "namespace", msg.Namespace, "type", msg.Type.String())
		c.close(ReasonParseError)
		return
	}
	sock.onPacket(msg)
}

// recoverPanic, deferred around the application's handlers on a goroutine
// Ferry runs, stops a panic there: it is logged with its stack, and the
// connection ends with ReasonServerError. Without it a panic on a
// WebSocket reader would end the process, while net/http recovers one in a
// long-polling POST: both transports now behave alike.
func (c *Conn) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	c.server.logger.Error("panic in a handler; closing its connection",
		"sid", c.sess.ID(), "panic", v, "stack", string(debug.Stack()))
	c.close(ReasonServerError)
}

// guard runs f, the application's code, as onMessage runs handlers: a panic
// in f ends the connection, and guard returns normally.
func (c *Conn) guard(f func()) {
	defer c.recoverPanic()
	f()
}

// connect joins a namespace: it runs the middleware, then answers CONNECT
// or CONNECT_ERROR. While the middleware runs, the socket is in c.sockets
// but not connected: the connection closing meanwhile closes it too.
func (c *Conn) connect(msg *parser.Message) {
	c.mu.Lock()
	joined := c.socketLocked(msg.Namespace) != nil
	c.mu.Unlock()
	if joined {
		// A second CONNECT for the same namespace closes the connection,
		// as in the reference server.
		c.server.logger.Debug("closing connection: second CONNECT", "sid", c.sess.ID(), "namespace", msg.Namespace)
		c.close(ReasonParseError)
		return
	}
	var nsp *Namespace
	if !c.server.closed.Load() {
		nsp = c.server.lookup(msg.Namespace)
	}
	if nsp == nil {
		c.sendConnectError(msg.Namespace, "Invalid namespace", nil)
		return
	}
	// The namespace counts this connection as joining until the socket is
	// in or refused: a dynamic child is not removed meanwhile, and one
	// left with no socket is removed after.
	defer c.server.doneJoining(nsp)
	if c.recover(nsp, msg.Payload) {
		return
	}
	sock := newSocket(nsp, c, msg.Payload)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sock.refuse()
		return
	}
	c.sockets = append(c.sockets, sock)
	c.mu.Unlock()
	if err := nsp.runMiddleware(sock); err != nil {
		sock.refuse()
		ce, ok := err.(*ConnectError)
		if !ok {
			ce = &ConnectError{Message: err.Error()}
		}
		c.sendConnectError(msg.Namespace, ce.Message, ce.Data)
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.joined = true
		c.stopConnectTimerLocked()
	}
	c.mu.Unlock()
	nsp.join(sock)
}

// recover restores the socket a CONNECT asks for with a private id, when
// connection state recovery is on and the namespace's adapter can: it
// reports whether it took care of the CONNECT. With RunMiddlewares the
// middleware runs on the restored socket, after its missed events went out,
// as in socket.io.
func (c *Conn) recover(nsp *Namespace, auth parser.Raw) bool {
	opts := c.server.recovery
	if opts == nil {
		return false
	}
	pid, offset, ok := recoveryAuth(auth)
	if !ok {
		return false
	}
	ra, ok := nsp.adapter.(RecoveryAdapter)
	if !ok {
		return false
	}
	var sock *Socket
	admitted := false
	restored, err := ra.RestoreSession(context.Background(), pid, offset, func(st *SessionState, missed []*EncodedPacket) bool {
		sock = newRecoveredSocket(nsp, c, auth, st)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return false
		}
		c.sockets = append(c.sockets, sock)
		c.mu.Unlock()
		admitted = nsp.admitRecovered(sock, missed, !opts.RunMiddlewares)
		return admitted
	})
	if err != nil {
		c.server.logger.Warn("connection state recovery: restoring a session failed",
			"namespace", nsp.name, "sid", c.sess.ID(), "err", err)
	}
	if !restored {
		return false
	}
	if !admitted {
		if sock != nil {
			sock.refuse()
		}
		return true
	}
	if nsp.watched() {
		// The adapter restored the rooms with the socket.
		nsp.reportRooms(sock, sock.Rooms(), nil)
	}
	if opts.RunMiddlewares {
		if err := nsp.runMiddleware(sock); err != nil {
			sock.onClose(ReasonServerNamespaceDisconnect)
			ce, ok := err.(*ConnectError)
			if !ok {
				ce = &ConnectError{Message: err.Error()}
			}
			c.sendConnectError(nsp.name, ce.Message, ce.Data)
			return true
		}
		sock.sendConnect()
	}
	c.mu.Lock()
	if !c.closed {
		c.joined = true
		c.stopConnectTimerLocked()
	}
	c.mu.Unlock()
	sock.track()
	for _, h := range nsp.connectionHandlers(nil) {
		h(sock)
	}
	return true
}

// recoveryAuth returns the private id and offset a CONNECT's auth carries
// for recovery; ok is false when it carries no private id, or an empty
// offset. The offset may be absent: the client got no event before it lost
// its connection.
func recoveryAuth(auth parser.Raw) (pid, offset string, ok bool) {
	if auth == nil {
		return "", "", false
	}
	var a struct {
		PID    any `json:"pid"`
		Offset any `json:"offset"`
	}
	if auth.Decode(&a) != nil {
		return "", "", false
	}
	pid, ok = a.PID.(string)
	offset, hasOffset := a.Offset.(string)
	if hasOffset && offset == "" {
		// socket.io-client sends the last string argument it saw: an
		// empty one came from an event without an offset, which the
		// server cannot tell apart from the others ending in "" (it keeps
		// no alias for ""). Recovering from the client's connect would
		// repeat what it got: it gets a fresh session instead.
		return "", "", false
	}
	return pid, offset, ok && pid != ""
}

func (c *Conn) sendConnectError(nsp, message string, data any) {
	c.send(connectError(nsp, message, data), false)
}

// connectError returns a CONNECT_ERROR packet for namespace nsp.
func connectError(nsp, message string, data any) *parser.Packet {
	payload := map[string]any{"message": message}
	if data != nil {
		payload["data"] = data
	}
	return &parser.Packet{Type: parser.ConnectError, Namespace: nsp, Payload: payload}
}

// send encodes p and queues it on the session.
func (c *Conn) send(p *parser.Packet, volatile bool) error {
	return c.sendWith(c.server.codec, p, volatile)
}

// sendWith encodes p with codec and queues it on the session.
func (c *Conn) sendWith(codec parser.Codec, p *parser.Packet, volatile bool) error {
	frames, err := codec.Encode(p)
	if err != nil {
		return err
	}
	return c.sendFrames(toEnginePackets(frames, nil), volatile)
}

// errDropped reports volatile packets that were not queued.
var errDropped = errors.New("ferry: volatile packet dropped")

// sendFrames queues encoded engine packets on the session.
//
// It returns errDropped when volatile packets were not queued (the client
// was behind), and ErrDisconnected once the session is closing.
func (c *Conn) sendFrames(pkts []transport.Packet, volatile bool) error {
	if volatile {
		if !c.sess.SendVolatile(pkts...) {
			return errDropped
		}
		return nil
	}
	if err := c.sess.Send(pkts...); err != nil {
		return ErrDisconnected
	}
	return nil
}

// toEnginePackets wraps encoded frames as engine message packets. With a
// cache slice (one per frame) the packets are marked as shared, so that
// transports frame them once for every target.
func toEnginePackets(frames []parser.Frame, caches []transport.FrameCache) []transport.Packet {
	pkts := make([]transport.Packet, len(frames))
	for i, f := range frames {
		pkts[i] = transport.Packet{Type: transport.Message, Data: f.Data, Binary: f.Binary}
		if caches != nil {
			pkts[i].Shared = &caches[i]
		}
	}
	return pkts
}

// socketLocked returns the socket in the named namespace, or nil.
func (c *Conn) socketLocked(nsp string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// stopConnectTimerLocked stops the connect timer, if any, and lets it go.
func (c *Conn) stopConnectTimerLocked() {
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
}

// removeSocket forgets a socket that left its namespace, or was refused;
// the engine session stays open, as in the reference server.
func (c *Conn) removeSocket(sock *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, sock); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// close disconnects every socket with reason, then closes the session,
// writing what is queued first.
func (c *Conn) close(reason DisconnectReason) {
	c.closeSockets(reason)
	c.sess.Close()
}

func (c *Conn) closeSockets(reason DisconnectReason) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.reason = reason
	c.stopConnectTimerLocked()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
}

// onSessionClose runs when the engine session closes, for any reason: the
// sockets still on it disconnect, then the OnClose callbacks run.
func (c *Conn) onSessionClose(err *session.CloseError) {
	c.closeSockets(disconnectReason(err))
	c.mu.Lock()
	reason := c.reason
	c.ended = true
	var callbacks []func(DisconnectReason)
	if c.hooks != nil {
		callbacks, c.hooks.onClose = c.hooks.onClose, nil
	}
	c.mu.Unlock()
	for _, f := range callbacks {
		c.guard(func() { f(reason) })
	}
}

func (c *Conn) connectTimedOut() {
	c.mu.Lock()
	idle := !c.joined && !c.closed
	c.mu.Unlock()
	if idle {
		c.server.logger.Debug("closing connection: no namespace joined in time", "sid", c.sess.ID())
		c.close(ReasonTransportClose)
	}
}
