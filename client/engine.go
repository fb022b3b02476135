package client

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// engine is one Engine.IO session: the handshake's parameters, the outbound
// queue, and the transport (long-polling, or a WebSocket once upgraded).
//
// Goroutines, all counted in the Client's WaitGroup and ended by terminate:
//   - writeLoop: the only writer. It drains queue as POST batches, or as
//     WebSocket frames once the WebSocket carries the session.
//   - pollLoop (polling only): issues one GET at a time and hands the
//     packets to receive, in order.
//   - upgrade (polling only, when the server offers a WebSocket): probes a
//     WebSocket, pauses polling, commits the switch, then reads the
//     WebSocket. On a WebSocket-only session, readLoop reads instead.
//   - heartbeat: the silence timer, reset by every ping. It also ends the
//     session when the queue overflowed: enqueue cannot, since its
//     callers may hold a Socket's lock, which terminate takes.
//
// Exactly one goroutine reads at any time (the poll loop stops before the
// WebSocket reader starts delivering), so inbound packets keep their order.
type engine struct {
	c   *Client
	log *slog.Logger

	sid          string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int
	upgrades     []string

	// decoder turns message packets into Socket.IO messages; it is used
	// only by receive, under inMu.
	decoder parser.Decoder
	inMu    sync.Mutex

	// initial holds packets that arrived with the polling handshake after
	// the open packet; the poll loop delivers them first.
	initial []transport.Packet

	ctx    context.Context // ends every request of the session; cancelled by terminate
	cancel context.CancelFunc

	wake         chan struct{} // signal (capacity 1): queue or state changed, for writeLoop
	ping         chan struct{} // signal (capacity 1): a ping arrived, for heartbeat
	done         chan struct{} // closed by terminate
	writerPaused chan struct{} // closed by writeLoop once it stopped writing over polling
	pollPaused   chan struct{} // closed by pollLoop once its last GET is delivered
	upgraded     chan struct{} // closed by upgrade once the WebSocket carries the session
	overflow     chan struct{} // closed by enqueue when the queue would exceed maxQueued

	maxQueued int // Options.MaxQueuedPackets

	// progress is when bytes last moved between the client and the server,
	// in Unix nanoseconds: see heartbeat.
	progress atomic.Int64

	mu      sync.Mutex
	queue   []transport.Packet // guarded by mu: packets not yet handed to a transport
	kind    string             // guarded by mu: transport.NamePolling or transport.NameWebSocket
	ws      *gorilla.Conn      // guarded by mu: the WebSocket carrying the session, if any
	probe   *gorilla.Conn      // guarded by mu: the WebSocket being probed for an upgrade
	pausing bool               // guarded by mu: the upgrade asked polling to stop
	closing bool               // guarded by mu: flush the queue, then close
	full    bool               // guarded by mu: the queue overflowed; overflow is closed, nothing more is written
	closed  bool               // guarded by mu: terminate ran
	reason  DisconnectReason   // guarded by mu: why terminate ran
}

func newEngine(c *Client, kind string, h *openPacket) *engine {
	ctx, cancel := context.WithCancel(context.Background())
	return &engine{
		c:            c,
		log:          c.log.With("sid", h.SID),
		sid:          h.SID,
		pingInterval: time.Duration(h.PingInterval) * time.Millisecond,
		pingTimeout:  time.Duration(h.PingTimeout) * time.Millisecond,
		maxPayload:   h.MaxPayload,
		upgrades:     h.Upgrades,
		decoder:      c.codec.NewDecoder(),
		ctx:          ctx,
		cancel:       cancel,
		wake:         make(chan struct{}, 1),
		ping:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		writerPaused: make(chan struct{}),
		pollPaused:   make(chan struct{}),
		upgraded:     make(chan struct{}),
		overflow:     make(chan struct{}),
		maxQueued:    c.opts.MaxQueuedPackets,
		kind:         kind,
	}
}

// start launches the session's goroutines. ws is the WebSocket of a
// WebSocket-only session, nil on polling.
func (e *engine) start(ws *gorilla.Conn) {
	e.c.wg.Go(e.heartbeat)
	e.c.wg.Go(e.writeLoop)
	if ws != nil {
		e.c.wg.Go(func() { e.readLoop(ws) })
		return
	}
	e.c.wg.Go(e.pollLoop)
	if e.canUpgrade() {
		e.c.wg.Go(e.upgrade)
	}
}

func (e *engine) canUpgrade() bool {
	o := &e.c.opts
	return !o.DisableUpgrade &&
		slices.Contains(o.Transports, transportWebSocket) &&
		slices.Contains(e.upgrades, transportWebSocket)
}

// transportName returns the name of the transport carrying the session.
func (e *engine) transportName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kind
}

// signal does a non-blocking send on a capacity-1 signal channel.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// errSessionEnding is enqueue's refusal once the session is closing or
// closed: the packets are not lost yet, and the caller may keep them for the
// next session.
var errSessionEnding = errors.New("client: session ending")

// enqueue appends pkts to the outbound queue as one contiguous run (a JSON
// event and its attachments stay together). It queues nothing and returns
// errSessionEnding once the session is closing or closed, or ErrQueueFull
// when the queue would exceed Options.MaxQueuedPackets: the session then
// writes nothing more, and the heartbeat goroutine terminates it with
// ReasonQueueFull, as the server closes a session whose queue overflows.
func (e *engine) enqueue(pkts ...transport.Packet) error {
	e.mu.Lock()
	if e.closed || e.closing || e.full {
		e.mu.Unlock()
		return errSessionEnding
	}
	if len(e.queue)+len(pkts) > e.maxQueued {
		e.full = true
		e.queue = nil
		e.mu.Unlock()
		close(e.overflow)
		return ErrQueueFull
	}
	e.queue = append(e.queue, pkts...)
	e.mu.Unlock()
	signal(e.wake)
	return nil
}

// takeLocked removes the next batch from the queue: everything on a
// WebSocket; on polling, as many packets as fit in maxPayload bytes (at
// least one).
func (e *engine) takeLocked() []transport.Packet {
	if len(e.queue) == 0 {
		return nil
	}
	n := len(e.queue)
	if e.kind == transportPolling && e.maxPayload > 0 {
		size := 0
		for i, p := range e.queue {
			add := transport.EncodedLen(p)
			if i > 0 {
				add++ // record separator
				if size+add > e.maxPayload {
					n = i
					break
				}
			}
			size += add
		}
	}
	batch := e.queue[:n:n]
	if n == len(e.queue) {
		e.queue = nil
	} else {
		e.queue = e.queue[n:]
	}
	return batch
}

// receive handles one inbound packet, in arrival order.
func (e *engine) receive(p transport.Packet) {
	switch p.Type {
	case transport.Ping:
		signal(e.ping)
		_ = e.enqueue(transport.Packet{Type: transport.Pong}) // a refusal ends the session
	case transport.Close:
		e.terminate(ReasonTransportClose, nil)
	case transport.Message:
		e.inMu.Lock()
		e.c.receiveMessage(e, p)
		e.inMu.Unlock()
	default:
		// open, pong, upgrade and noop carry nothing for an open session.
	}
}

// isDone reports whether terminate ran.
func (e *engine) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// shutdown asks for an orderly close: the writer flushes what is queued,
// sends a close packet on polling (or a close frame on a WebSocket), then
// terminates the session. It does not wait.
func (e *engine) shutdown() {
	e.mu.Lock()
	if e.closed || e.closing {
		e.mu.Unlock()
		return
	}
	e.closing = true
	e.mu.Unlock()
	signal(e.wake)
}

// terminate ends the session at once: it cancels requests, closes
// WebSockets, stops every goroutine and tells the Client why. It is
// idempotent.
func (e *engine) terminate(reason DisconnectReason, err error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.reason = reason
	e.queue = nil
	ws, probe := e.ws, e.probe
	e.mu.Unlock()
	e.cancel()
	if ws != nil {
		_ = ws.Close()
	}
	if probe != nil {
		_ = probe.Close()
	}
	close(e.done)
	if err != nil {
		e.log.Debug("client: engine.io session closed", "reason", string(reason), "err", err)
	} else {
		e.log.Debug("client: engine.io session closed", "reason", string(reason))
	}
	e.c.engineClosed(e, reason, err)
}
