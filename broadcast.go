package ferry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Broadcast selects sockets of a namespace to emit to or act on. It is an
// immutable value: To, Except, Local, Volatile and Timeout return modified
// copies, so a Broadcast may be kept and reused.
//
// With no rooms selected it targets every socket of the namespace; with
// rooms, the sockets in any of them; sockets in any Except room are left
// out. Each socket receives a broadcast at most once.
type Broadcast struct {
	nsp     *Namespace
	opts    BroadcastOptions
	timeout time.Duration
}

// BroadcastOptions is what an Adapter needs to select a broadcast's
// targets.
type BroadcastOptions struct {
	// Rooms selects sockets in any of these rooms; empty selects all.
	Rooms []string
	// Except leaves out sockets in any of these rooms.
	Except []string
	// Local restricts the broadcast to this server.
	Local bool
	// Volatile skips sockets that are not ready to receive.
	Volatile bool
}

// To returns a copy that also selects sockets in rooms.
func (b Broadcast) To(rooms ...string) Broadcast {
	b.opts.Rooms = append(slices.Clip(b.opts.Rooms), rooms...)
	return b
}

// In is the same as To.
func (b Broadcast) In(rooms ...string) Broadcast { return b.To(rooms...) }

// Except returns a copy that leaves out sockets in rooms.
func (b Broadcast) Except(rooms ...string) Broadcast {
	b.opts.Except = append(slices.Clip(b.opts.Except), rooms...)
	return b
}

// Local returns a copy restricted to sockets connected to this server.
func (b Broadcast) Local() Broadcast { b.opts.Local = true; return b }

// Volatile returns a copy that skips sockets not ready to receive.
func (b Broadcast) Volatile() Broadcast { b.opts.Volatile = true; return b }

// Timeout returns a copy whose EmitWithAck stops waiting after d.
func (b Broadcast) Timeout(d time.Duration) Broadcast { b.timeout = d; return b }

// Emit sends an event to the selected sockets. It is encoded once, and on
// WebSocket framed once, whatever the number of targets.
func (b Broadcast) Emit(event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	for _, nsp := range b.nsp.targets() {
		pkt, err := encodeBroadcast(nsp, event, args, false, 0)
		if err != nil {
			return err
		}
		nsp.server.broadcast(pkt, func() { nsp.adapter.Broadcast(pkt, b.opts) })
	}
	return nil
}

// EmitWithAck sends an event to the selected sockets and waits for each to
// acknowledge it, until ctx is done or the Timeout passes. It returns the
// acks received, in arrival order; if some are missing it also returns an
// error wrapping ctx's.
func (b Broadcast) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if parser.IsReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	acks := newAckCollector()
	for _, nsp := range b.nsp.targets() {
		id := nsp.ackIDs.Add(1) - 1
		pkt, err := encodeBroadcast(nsp, event, args, true, id)
		if err != nil {
			return nil, err
		}
		nsp.server.broadcast(pkt, func() { nsp.adapter.BroadcastWithAck(pkt, b.opts, acks) })
	}
	acks.Expect(0) // done adding targets
	return acks.wait(ctx, event)
}

// encodeBroadcast builds the broadcast packet for event in nsp, encoded
// once for all its targets. A dynamic parent's broadcast is encoded once
// per child, each under the child's own name.
func encodeBroadcast(nsp *Namespace, event string, args []any, ack bool, id uint64) (*EncodedPacket, error) {
	p := parser.Packet{
		Type:      parser.Event,
		Namespace: nsp.name,
		ID:        id,
		HasID:     ack,
		Args:      eventArgs(event, args),
	}
	frames, err := nsp.server.codec.Encode(&p)
	if err != nil {
		return nil, err
	}
	return &EncodedPacket{Packet: p, Frames: frames}, nil
}

// FetchSockets returns the selected sockets, on every server of the
// adapter.
func (b Broadcast) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	for _, nsp := range b.nsp.targets() {
		socks, err := nsp.adapter.FetchSockets(ctx, b.opts)
		if err != nil {
			return out, err
		}
		out = append(out, socks...)
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b Broadcast) SocketsJoin(rooms ...string) {
	for _, nsp := range b.nsp.targets() {
		nsp.adapter.AddSockets(b.opts, rooms)
	}
}

// SocketsLeave makes the selected sockets leave rooms.
func (b Broadcast) SocketsLeave(rooms ...string) {
	for _, nsp := range b.nsp.targets() {
		nsp.adapter.DelSockets(b.opts, rooms)
	}
}

// DisconnectSockets disconnects the selected sockets; with close, their
// connections are closed too.
func (b Broadcast) DisconnectSockets(close bool) {
	for _, nsp := range b.nsp.targets() {
		nsp.adapter.DisconnectSockets(b.opts, close)
	}
}

// broadcast runs hand, which hands pkt out to its targets, counted in the
// server's burst: while any broadcast is being handed out, a WebSocket
// writer holding an earlier one waits for it, so that a handler's
// consecutive broadcasts leave in one write per connection.
func (s *Server) broadcast(pkt *EncodedPacket, hand func()) {
	pkt.burst = &s.burst
	s.burst.Begin()
	defer s.burst.End()
	hand()
}

// EncodedPacket is a broadcast packet encoded once for all its targets.
type EncodedPacket struct {
	// Packet is the packet before encoding.
	Packet parser.Packet
	// Frames is its encoding by the server's parser.
	Frames []parser.Frame

	once   sync.Once
	engine []transport.Packet
	caches []transport.FrameCache
	burst  *transport.Burst // the server's, set before the adapter is called
}

// enginePackets returns the frames as engine packets shared by every
// target, so that each transport frames them once.
func (p *EncodedPacket) enginePackets() []transport.Packet {
	p.once.Do(func() {
		p.caches = make([]transport.FrameCache, len(p.Frames))
		for i := range p.caches {
			p.caches[i].Burst = p.burst
		}
		p.engine = toEnginePackets(p.Frames, p.caches)
	})
	return p.engine
}

// AckCollector gathers the acks of a broadcast. Adapters call Expect with
// the number of sockets each part of the broadcast reached, and Receive
// with each ack.
type AckCollector struct {
	mu       sync.Mutex
	expected int    // guarded by mu
	pending  int    // guarded by mu: adapters still adding targets
	acks     []Args // guarded by mu
	done     chan struct{}
	closed   bool // guarded by mu
}

func newAckCollector() *AckCollector {
	return &AckCollector{pending: 1, done: make(chan struct{})}
}

// Expect adds n sockets whose acks to wait for. Expect(0) from the
// broadcaster marks the target count final.
func (c *AckCollector) Expect(n int) {
	c.mu.Lock()
	if n == 0 {
		c.pending--
	}
	c.expected += n
	c.checkLocked()
	c.mu.Unlock()
}

// Receive records one ack.
func (c *AckCollector) Receive(a Args) {
	c.mu.Lock()
	c.acks = append(c.acks, a)
	c.checkLocked()
	c.mu.Unlock()
}

func (c *AckCollector) checkLocked() {
	if !c.closed && c.pending == 0 && len(c.acks) >= c.expected {
		c.closed = true
		close(c.done)
	}
}

func (c *AckCollector) wait(ctx context.Context, event string) ([]Args, error) {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.Clone(c.acks), nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.Clone(c.acks), fmt.Errorf("ferry: %d of %d acks for %q: %w", len(c.acks), c.expected, event, ctx.Err())
	}
}
