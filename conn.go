package ferry

import (
	"slices"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// conn is one Engine.IO session seen from Socket.IO: it decodes the
// session's messages and routes them to the sockets it multiplexes, one per
// namespace.
type conn struct {
	server *Server
	sess   *session.Session
	// decMu serialises decoding and dispatch. A session's messages arrive
	// from one goroutine at a time, but from two different ones across an
	// upgrade; the lock keeps them in order and the decoder single-user.
	decMu sync.Mutex
	dec   parser.Decoder

	mu sync.Mutex
	// sockets is guarded by mu: one per namespace joined. A connection
	// joins few namespaces, so a slice searched by name is enough.
	sockets []*Socket
	// connectTimer is guarded by mu: it closes a connection that joins no
	// namespace in time, and is dropped once one is joined.
	connectTimer *time.Timer
	closed       bool // guarded by mu
}

// onSession is the engine's connection callback.
func (s *Server) onSession(sess *session.Session) {
	c := &conn{
		server: s,
		sess:   sess,
		dec:    s.codec.NewDecoder(),
	}
	// The timer is set under mu, which connectTimedOut takes first: a
	// short ConnectTimeout may fire before AfterFunc has returned.
	c.mu.Lock()
	c.connectTimer = time.AfterFunc(s.opts.ConnectTimeout, c.connectTimedOut)
	c.mu.Unlock()
	sess.OnMessage(c.onMessage)
	sess.OnClose(c.onSessionClose)
}

// onMessage decodes one engine message and dispatches the packet it
// completes, if any.
func (c *conn) onMessage(p transport.Packet) {
	c.decMu.Lock()
	defer c.decMu.Unlock()
	msg, err := c.dec.Decode(p.Data, p.Binary)
	if err != nil {
		c.server.logger.Debug("closing connection: malformed packet", "sid", c.sess.ID(), "err", err)
		c.close(ReasonParseError)
		return
	}
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

// connect joins a namespace: it runs the middleware, then answers CONNECT
// or CONNECT_ERROR.
func (c *conn) connect(msg *parser.Message) {
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
	nsp := c.server.lookup(msg.Namespace)
	if nsp == nil || c.server.closed.Load() {
		c.sendConnectError(msg.Namespace, "Invalid namespace", nil)
		return
	}
	sock := newSocket(nsp, c, msg.Payload)
	if err := nsp.runMiddleware(sock); err != nil {
		ce, ok := err.(*ConnectError)
		if !ok {
			ce = &ConnectError{Message: err.Error()}
		}
		c.sendConnectError(msg.Namespace, ce.Message, ce.Data)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.sockets = append(c.sockets, sock)
	c.stopConnectTimerLocked()
	c.mu.Unlock()
	nsp.join(sock)
}

func (c *conn) sendConnectError(nsp, message string, data any) {
	payload := map[string]any{"message": message}
	if data != nil {
		payload["data"] = data
	}
	c.send(&parser.Packet{Type: parser.ConnectError, Namespace: nsp, Payload: payload}, false)
}

// send encodes p and queues it on the session.
func (c *conn) send(p *parser.Packet, volatile bool) error {
	frames, err := c.server.codec.Encode(p)
	if err != nil {
		return err
	}
	return c.sendFrames(toEnginePackets(frames, nil), volatile)
}

// sendFrames queues encoded engine packets on the session.
func (c *conn) sendFrames(pkts []transport.Packet, volatile bool) error {
	if volatile {
		c.sess.SendVolatile(pkts...)
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
func (c *conn) socketLocked(nsp string) *Socket {
	for _, s := range c.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// stopConnectTimerLocked stops the connect timer, if any, and lets it go.
func (c *conn) stopConnectTimerLocked() {
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
}

// removeSocket forgets a socket that left its namespace; the engine
// session stays open, as in the reference server.
func (c *conn) removeSocket(sock *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, sock); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// close disconnects every socket with reason, then closes the session,
// writing what is queued first.
func (c *conn) close(reason DisconnectReason) {
	c.closeSockets(reason)
	c.sess.Close()
}

func (c *conn) closeSockets(reason DisconnectReason) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.stopConnectTimerLocked()
	socks := slices.Clone(c.sockets)
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
}

// onSessionClose runs when the engine session closes, for any reason.
func (c *conn) onSessionClose(err *session.CloseError) {
	c.closeSockets(disconnectReason(err))
}

func (c *conn) connectTimedOut() {
	c.mu.Lock()
	idle := len(c.sockets) == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		c.server.logger.Debug("closing connection: no namespace joined in time", "sid", c.sess.ID())
		c.close(ReasonTransportClose)
	}
}
