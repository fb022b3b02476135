package session

import (
	"errors"
	"net/http"
	"sync"

	"github.com/ferryio/ferry/internal/lifecycle"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// This file relays WebSockets. The relaying engine (where the WebSocket
// arrived) accepts it and runs a websocket.Transport bound to a bridge,
// which passes each packet the client sends to the owner and writes what
// the owner sends. The owner's session sees a remoteWS, a transport named
// "websocket" that it probes and upgrades to as to one of its own. Packets
// travel in order, each way at most relayWindow of them unacknowledged.

// forwardUpgrade relays a WebSocket for session id to its owner: it asks
// the owner first, and accepts the WebSocket only if the session exists.
func (rl *relayer) forwardUpgrade(w http.ResponseWriter, r *http.Request, owner, id string) {
	answer, answered := answerChan()
	p := rl.startRequest(owner, answer, kindOpen)
	if p == nil {
		rl.e.refuse(w, r, http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	b := rl.newBridge(owner, p.id)
	rl.send(owner, &relayMsg{Kind: kindOpen, ID: p.id, SID: id})
	var m *relayMsg
	select {
	case m = <-answered:
		p.finish()
	case <-r.Context().Done():
		p.finish()
		b.dropped(nil)
		return
	case err := <-p.lost:
		p.finish()
		b.dropped(nil)
		rl.logger.Debug("relay: WebSocket refused as for an unknown session", "sid", id, "owner", owner, "err", err)
		rl.e.refuse(w, r, http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	switch m.Status {
	case statusProbe:
	case statusNoUpgrade:
		b.dropped(nil)
		if conn, err := rl.e.ws.Upgrade(w, r); err == nil {
			conn.Close()
		}
		return
	default:
		b.dropped(nil)
		rl.e.refuse(w, r, m.Status, m.Code)
		return
	}
	conn, err := rl.e.ws.Upgrade(w, r)
	if err != nil {
		rl.logger.Debug("websocket upgrade refused", "sid", id, "err", err)
		b.dropped(err)
		return
	}
	b.start(websocket.New(rl.e.ws, conn, b))
}

// bridge is the relaying engine's side of a relayed WebSocket: the
// transport.Session of the websocket.Transport that talks to the client.
type bridge struct {
	rl    *relayer
	owner string
	id    uint64

	mu         sync.Mutex
	t          *websocket.Transport // guarded by mu: nil until the WebSocket is accepted
	queue      []transport.Packet   // guarded by mu: packets from the owner, to write
	last       bool                 // guarded by mu: the owner sent its last packets
	closeAfter bool                 // guarded by mu: the owner closed its transport; close once queue is written
	fail       error                // guarded by mu: the owner's transport ended with this protocol error
	ended      bool                 // guarded by mu: the bridge is done; nothing more goes to the owner
	taken      uint64               // guarded by mu: packets from the owner taken for writing
	takenSent  uint64               // guarded by mu: the last count of taken sent to the owner
	upSent     uint64               // guarded by mu: packets sent to the owner
	upAcked    uint64               // guarded by mu: packets the owner delivered
	credit     chan struct{}        // signal: upAcked moved, or the bridge ended (capacity 1)
}

// newBridge registers a bridge for the WebSocket relayed as id.
func (rl *relayer) newBridge(owner string, id uint64) *bridge {
	b := &bridge{rl: rl, owner: owner, id: id, credit: make(chan struct{}, 1)}
	rl.mu.Lock()
	rl.bridges[id] = b
	rl.useLocked(owner, b)
	rl.mu.Unlock()
	return b
}

// unregister forgets b.
func (b *bridge) unregister() {
	b.rl.mu.Lock()
	if b.rl.bridges[b.id] == b {
		delete(b.rl.bridges, b.id)
	}
	b.rl.unuseLocked(b.owner, b)
	b.rl.mu.Unlock()
}

// dropped ends a bridge whose WebSocket was never accepted, telling the
// owner with err.
func (b *bridge) dropped(err error) {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	b.unregister()
	m := &relayMsg{Kind: kindUpEnd, ID: b.id}
	if err == nil {
		err = transport.ErrPeerClosed
	}
	m.setErr(err)
	b.rl.send(b.owner, m)
}

// start binds the accepted WebSocket's transport, and applies what the
// owner sent meanwhile.
func (b *bridge) start(t *websocket.Transport) {
	b.mu.Lock()
	b.t = t
	fail, closeNow := b.fail, b.closeAfter && len(b.queue) == 0 && !b.last
	b.mu.Unlock()
	t.Start()
	switch {
	case fail != nil:
		t.Fail(fail)
	case closeNow:
		t.Close()
	default:
		t.Wake()
	}
}

// receive handles a message from the owner.
func (b *bridge) receive(m *relayMsg) {
	b.mu.Lock()
	if m.Ack > b.upAcked {
		b.upAcked = m.Ack
		select {
		case b.credit <- struct{}{}:
		default:
		}
	}
	t := b.t
	switch m.Kind {
	case kindDown:
		b.queue = append(b.queue, m.Pkts...)
		b.last = b.last || m.Last
		b.mu.Unlock()
		if t != nil {
			t.Wake()
		}
	case kindDownEnd:
		err := m.err()
		closeNow := false
		if err != nil && errors.Is(err, transport.ErrUnexpectedPacket) {
			b.fail = err
		} else {
			b.closeAfter = true
			closeNow = len(b.queue) == 0 && !b.last
		}
		b.mu.Unlock()
		switch {
		case t == nil:
		case err != nil && errors.Is(err, transport.ErrUnexpectedPacket):
			t.Fail(err)
		case closeNow:
			t.Close()
		default:
			t.Wake()
		}
	default:
		b.mu.Unlock()
	}
}

// linkLost closes the WebSocket of a session whose owner is gone: the
// client reconnects.
func (b *bridge) linkLost(err error) {
	b.rl.logger.Debug("relay: WebSocket closed, its session's server gone", "owner", b.owner, "err", err)
	b.mu.Lock()
	b.ended = true
	t := b.t
	// What the owner sent is written first.
	b.closeAfter = true
	closeNow := len(b.queue) == 0 && !b.last
	b.mu.Unlock()
	select {
	case b.credit <- struct{}{}:
	default:
	}
	switch {
	case t == nil:
	case closeNow:
		t.Close()
	default:
		t.Wake()
	}
}

// Take implements transport.Session for the WebSocket: the packets the
// owner sent, the last ones with last set once the owner ended.
func (b *bridge) Take(t transport.Transport) ([]transport.Packet, bool) {
	b.mu.Lock()
	pkts := b.queue
	b.queue = nil
	last := len(pkts) > 0 && (b.last || b.closeAfter)
	b.taken += uint64(len(pkts))
	var ack uint64
	if b.taken-b.takenSent >= relayAckEvery && !b.ended {
		ack, b.takenSent = b.taken, b.taken
	}
	b.mu.Unlock()
	if ack > 0 {
		b.rl.send(b.owner, &relayMsg{Kind: kindUpAck, ID: b.id, Ack: ack})
	}
	return pkts, last
}

// errBridgeEnded is returned by the bridge's Deliver once it has ended: the
// WebSocket delivers nothing more.
var errBridgeEnded = errors.New("session: relayed WebSocket ended")

// Deliver implements transport.Session for the WebSocket: it sends p to
// the owner, waiting while relayWindow packets are unacknowledged.
func (b *bridge) Deliver(t transport.Transport, p transport.Packet) error {
	for {
		b.mu.Lock()
		if b.ended {
			b.mu.Unlock()
			t.Close()
			return errBridgeEnded
		}
		if b.upSent-b.upAcked < relayWindow {
			break
		}
		b.mu.Unlock()
		<-b.credit
	}
	b.upSent++
	b.takenSent = b.taken
	ack := b.taken
	b.mu.Unlock()
	b.rl.send(b.owner, &relayMsg{Kind: kindUp, ID: b.id, Pkts: []transport.Packet{p}, Ack: ack})
	return nil
}

// TransportClosed implements transport.Session for the WebSocket: the
// owner learns why it ended.
func (b *bridge) TransportClosed(t transport.Transport, err error) {
	b.mu.Lock()
	wasEnded := b.ended
	b.ended = true
	b.mu.Unlock()
	b.unregister()
	if !wasEnded {
		m := &relayMsg{Kind: kindUpEnd, ID: b.id}
		m.setErr(err)
		b.rl.send(b.owner, m)
	}
}

// serveOpen handles a WebSocket relayed to this engine for one of its
// sessions: it answers whether the session probes it.
func (rl *relayer) serveOpen(m *relayMsg) {
	answer := &relayMsg{Kind: kindOpenAnswer, ID: m.ID}
	if hook := rl.testHookOpen; hook != nil {
		rt := newRemoteWS(rl, m, nil)
		rt.sess = hook(rt)
		rl.serve(m, rt)
		answer.Status = statusProbe
		rl.send(m.From, answer)
		rt.start(func() {})
		return
	}
	s := rl.e.registry.get(m.SID)
	switch {
	case s == nil:
		answer.Status, answer.Code = http.StatusBadRequest, transport.CodeUnknownSID
	case !s.mayUpgrade():
		answer.Status = statusNoUpgrade
	default:
		rt := newRemoteWS(rl, m, s)
		if !rl.serve(m, rt) {
			answer.Status, answer.Code = http.StatusBadRequest, transport.CodeUnknownSID
			break
		}
		started, ok := s.beginProbe(rt)
		if !ok {
			rl.unserve(m, rt)
			answer.Status = statusNoUpgrade
			break
		}
		answer.Status = statusProbe
		rl.send(m.From, answer)
		rt.start(started)
		return
	}
	rl.send(m.From, answer)
}

// remoteWS is the owner's side of a relayed WebSocket: a transport named
// "websocket" whose peer is a bridge on the relaying engine. A goroutine
// delivers what the client sent, in order; another writes, sending each
// batch it takes to the bridge.
type remoteWS struct {
	rl   *relayer
	node string // the relaying engine
	id   uint64
	sess transport.Session
	key  *relayMsg // the kindOpen message, naming the served request

	wake  chan struct{} // signal to the writer: packets are queued (capacity 1)
	inbox chan struct{} // signal to the reader: packets arrived (capacity 1)
	stop  chan struct{} // closed when the transport ends
	done  chan struct{} // closed after TransportClosed returned

	mu        sync.Mutex
	life      lifecycle.Tracker  // guarded by mu: users are the reader and the writer
	in        []transport.Packet // guarded by mu: packets from the client, to deliver
	upEnd     error              // guarded by mu: the bridge ended for this reason, once in is delivered
	upEnded   bool               // guarded by mu: upEnd is set
	fromPeer  bool               // guarded by mu: the end came from the bridge; it need not be told
	downSent  uint64             // guarded by mu: packets sent to the bridge
	downAcked uint64             // guarded by mu: packets the bridge took for writing
	delivered uint64             // guarded by mu: packets delivered to the session
	ackSent   uint64             // guarded by mu: the last count of delivered sent to the bridge
}

func newRemoteWS(rl *relayer, open *relayMsg, sess transport.Session) *remoteWS {
	return &remoteWS{
		rl:    rl,
		node:  open.From,
		id:    open.ID,
		sess:  sess,
		key:   open,
		wake:  make(chan struct{}, 1),
		inbox: make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// start starts the reader, which calls started before it delivers
// anything, and the writer.
func (t *remoteWS) start(started func()) {
	t.mu.Lock()
	if !t.life.EnterLocked() {
		t.mu.Unlock()
		return
	}
	t.life.EnterLocked()
	t.mu.Unlock()
	go t.readLoop(started)
	go t.writeLoop()
}

// Name returns "websocket".
func (t *remoteWS) Name() string { return transport.NameWebSocket }

// Done is closed once the transport has ended and the session was told.
func (t *remoteWS) Done() <-chan struct{} { return t.done }

// Wake signals the writer. It never blocks.
func (t *remoteWS) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Close ends the transport; the bridge closes the client's WebSocket
// once it has written what it was sent.
func (t *remoteWS) Close() error {
	t.end(nil, false)
	return nil
}

// end ends the transport for reason, once; fromPeer says the bridge ended
// it, and need not be told.
func (t *remoteWS) end(reason error, fromPeer bool) {
	t.mu.Lock()
	first, report := t.life.EndLocked(reason)
	if first {
		t.fromPeer = fromPeer
		close(t.stop)
	}
	t.mu.Unlock()
	if !first {
		return
	}
	if !fromPeer {
		m := &relayMsg{Kind: kindDownEnd, ID: t.id}
		m.setErr(reason)
		t.rl.send(t.node, m)
	}
	if report {
		t.report(reason)
	}
}

// leave unregisters the reader or the writer; the last one out after the
// end tells the session.
func (t *remoteWS) leave() {
	t.mu.Lock()
	report, reason := t.life.LeaveLocked()
	t.mu.Unlock()
	if report {
		t.report(reason)
	}
}

func (t *remoteWS) report(reason error) {
	t.rl.unserve(t.key, t)
	t.sess.TransportClosed(t, reason)
	close(t.done)
}

// receive handles a message from the bridge.
func (t *remoteWS) receive(m *relayMsg) {
	t.mu.Lock()
	if m.Ack > t.downAcked {
		t.downAcked = m.Ack
		t.mu.Unlock()
		t.Wake()
		t.mu.Lock()
	}
	switch m.Kind {
	case kindUp:
		if _, ended := t.life.EndedLocked(); !ended {
			t.in = append(t.in, m.Pkts...)
			select {
			case t.inbox <- struct{}{}:
			default:
			}
		}
		t.mu.Unlock()
	case kindUpEnd:
		// The reader ends the transport once it has delivered what
		// the client sent before.
		err := m.err()
		if err == nil {
			// The bridge's WebSocket ended without its peer having
			// been heard closing: for the session, the connection
			// is gone.
			err = transport.ErrPeerClosed
		}
		t.upEnd, t.upEnded = err, true
		t.mu.Unlock()
		select {
		case t.inbox <- struct{}{}:
		default:
		}
	default:
		t.mu.Unlock()
	}
}

// linkLost ends the transport as if the client had vanished.
func (t *remoteWS) linkLost(err error) { t.end(err, false) }

// readLoop delivers the client's packets, in order, one at a time.
func (t *remoteWS) readLoop(started func()) {
	defer t.leave()
	started()
	for {
		t.mu.Lock()
		if _, ended := t.life.EndedLocked(); ended {
			t.mu.Unlock()
			return
		}
		if len(t.in) == 0 {
			upEnd, upEnded := t.upEnd, t.upEnded
			t.mu.Unlock()
			if upEnded {
				t.end(upEnd, true)
				return
			}
			select {
			case <-t.inbox:
			case <-t.stop:
			}
			continue
		}
		p := t.in[0]
		t.in[0] = transport.Packet{}
		t.in = t.in[1:]
		t.mu.Unlock()
		err := t.sess.Deliver(t, p)
		t.mu.Lock()
		t.delivered++
		var ack uint64
		if t.delivered-t.ackSent >= relayAckEvery {
			ack, t.ackSent = t.delivered, t.delivered
		}
		t.mu.Unlock()
		if err != nil {
			if errors.Is(err, transport.ErrUnexpectedPacket) {
				t.end(err, false)
			}
			return
		}
		if ack > 0 {
			t.rl.send(t.node, &relayMsg{Kind: kindDownAck, ID: t.id, Ack: ack})
		}
	}
}

// writeLoop sends what the session queues to the bridge, keeping at most
// relayWindow packets sent and unacknowledged: it holds back what a batch
// brings beyond that until acks come.
func (t *remoteWS) writeLoop() {
	defer t.leave()
	var held []transport.Packet // taken, not yet sent
	var heldLast bool           // held ends with the session's last packets
	for {
		select {
		case <-t.wake:
		case <-t.stop:
			return
		}
		for {
			t.mu.Lock()
			_, ended := t.life.EndedLocked()
			room := relayWindow - int(t.downSent-t.downAcked)
			t.mu.Unlock()
			if ended || room <= 0 {
				// A full window: an ack wakes the writer.
				break
			}
			if len(held) == 0 {
				held, heldLast = t.sess.Take(t)
				if len(held) == 0 {
					break
				}
			}
			pkts := held
			if len(pkts) > room {
				pkts = pkts[:room:room]
			}
			held = held[len(pkts):]
			last := heldLast && len(held) == 0
			t.mu.Lock()
			t.downSent += uint64(len(pkts))
			t.ackSent = t.delivered
			ack := t.delivered
			t.mu.Unlock()
			t.rl.send(t.node, &relayMsg{Kind: kindDown, ID: t.id, Pkts: pkts, Last: last, Ack: ack})
			if last {
				t.end(nil, true)
				return
			}
		}
	}
}
