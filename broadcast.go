package ferry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Broadcast selects sockets of a namespace to emit to or act on, on every
// server the namespace's adapter reaches. It is an immutable value: To,
// Except, Local, Volatile, Compress and Timeout return modified copies, so a
// Broadcast may be kept and reused.
//
// With no rooms selected it targets every socket of the namespace; with
// rooms, the sockets in any of them; sockets in any Except room are left
// out. Each socket receives a broadcast at most once.
type Broadcast struct {
	nsp     *Namespace
	opts    BroadcastOptions
	timeout time.Duration
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

// Compress returns a copy whose events are compressed, when the transport
// compresses (WebSocket with Options.PerMessageDeflate, long-polling
// responses), only if compress is true, the default: socket.io's compress
// flag. An event sent with Compress(false) leaves in an uncompressed
// WebSocket frame.
func (b Broadcast) Compress(compress bool) Broadcast { b.opts.NoCompress = !compress; return b }

// Timeout returns a copy whose EmitWithAck and EmitWithAckFunc stop
// waiting after d, as a context deadline would: a convenience for passing
// them context.WithTimeout(ctx, d).
func (b Broadcast) Timeout(d time.Duration) Broadcast { b.timeout = d; return b }

// Emit sends an event to the selected sockets. It is encoded once, and on
// WebSocket framed once, for all the targets on this server. Delivery to
// this server's sockets never waits on other servers; an error from the
// adapter (an event it could not encode, a publish to other servers that
// failed) is returned after it.
func (b Broadcast) Emit(event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if o := b.nsp.server.obs; o != nil {
		o.Broadcast(b.nsp.name)
	}
	var errs []error
	for _, nsp := range b.nsp.targets() {
		if err := nsp.adapter.Broadcast(context.Background(), newEventPacket(event, args), b.opts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EmitWithAck sends an event to the selected sockets and waits until each
// has acknowledged it, until ctx is done or the Timeout passes. It returns
// the acks received, in arrival order. A socket that disconnects before it
// acks is not waited for; on this server, a socket a volatile event skipped
// is not either. If acks are missing at the deadline, it returns those that
// came with an error wrapping ctx's (context.DeadlineExceeded).
//
// With several servers, each reports how many clients it reached and
// forwards their acks; a cluster adapter stops waiting for a server that
// does not answer after its own request timeout.
func (b Broadcast) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	type result struct {
		acks []Args
		err  error
	}
	reply := make(chan result, 1)
	if err := b.EmitWithAckFunc(ctx, event, args, func(acks []Args, err error) { reply <- result{acks, err} }); err != nil {
		return nil, err
	}
	r := <-reply
	return r.acks, r.err
}

// EmitWithAckFunc sends an event to the selected sockets as EmitWithAck
// does, but returns at once: f receives what EmitWithAck would return (the
// acks, and an error if some are missing at the deadline or an adapter
// failed), exactly once, when every socket reached has acked or
// disconnected, or when ctx is done or the Timeout passes. Nothing waits
// meanwhile: no goroutine is started, and a deadline is a timer.
//
// f runs on the goroutine that completes the broadcast: that of the last
// client's ack (its connection's read goroutine, on which it must not
// block), of the last socket's end, or of the deadline's timer; or on the
// caller's, before EmitWithAckFunc returns, when no socket is reached. A
// panic in f is recovered and logged.
//
// It returns an error, and never runs f, only for a reserved event name.
func (b Broadcast) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(acks []Args, err error)) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if o := b.nsp.server.obs; o != nil {
		o.Broadcast(b.nsp.name)
	}
	cancel := context.CancelFunc(func() {})
	if b.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
	}
	w := &broadcastWait{
		nsp:    b.nsp,
		acks:   newAckCollector(),
		what:   fmt.Sprintf("acks for %q", event),
		f:      f,
		cancel: cancel,
		logger: b.nsp.server.logger,
	}
	w.acks.then = func() { w.deliver(ctx) }
	var errs []error
	for _, nsp := range b.nsp.targets() {
		if err := nsp.adapter.BroadcastWithAck(ctx, newEventPacket(event, args), b.opts, w.acks); err != nil {
			errs = append(errs, err)
		}
	}
	// Set before the collector is sealed, which it must be before it can
	// complete: deliver reads it after.
	w.errs = errors.Join(errs...)
	w.acks.seal()
	stop := context.AfterFunc(ctx, func() { w.deliver(ctx) })
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		stop()
	} else {
		w.stop = stop
		w.mu.Unlock()
	}
	return nil
}

// broadcastWait is an EmitWithAckFunc waiting for its acks: the collector
// completing and the deadline race to deliver them, once.
type broadcastWait struct {
	nsp    *Namespace // the broadcast's
	acks   *AckCollector
	what   string
	f      func([]Args, error)
	errs   error // the adapters' errors; set before the collector is sealed
	cancel context.CancelFunc
	logger *slog.Logger

	mu   sync.Mutex
	done bool        // guarded by mu: delivered
	stop func() bool // guarded by mu: stops the deadline's AfterFunc
}

// deliver hands f the acks so far, unless that was done already.
func (w *broadcastWait) deliver(ctx context.Context) {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	w.done = true
	stop := w.stop
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	got, err := w.acks.result(ctx, w.what)
	w.cancel()
	if o := w.nsp.server.obs; o != nil && errors.Is(err, context.DeadlineExceeded) {
		o.AckTimeout(w.nsp.name)
	}
	defer func() {
		if v := recover(); v != nil {
			w.logger.Error("panic in an ack callback", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	w.f(got, errors.Join(w.errs, err))
}

// FetchSockets returns the selected sockets, on every server.
func (b Broadcast) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	for _, nsp := range b.nsp.targets() {
		socks, err := nsp.adapter.FetchSockets(ctx, b.opts)
		out = append(out, socks...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms, on every server.
func (b Broadcast) SocketsJoin(ctx context.Context, rooms ...string) error {
	return b.each(func(a Adapter) error { return a.AddSockets(ctx, b.opts, rooms) })
}

// SocketsLeave makes the selected sockets leave rooms, on every server.
func (b Broadcast) SocketsLeave(ctx context.Context, rooms ...string) error {
	return b.each(func(a Adapter) error { return a.DelSockets(ctx, b.opts, rooms) })
}

// DisconnectSockets disconnects the selected sockets, on every server;
// with close, their connections are closed too.
func (b Broadcast) DisconnectSockets(ctx context.Context, close bool) error {
	return b.each(func(a Adapter) error { return a.DisconnectSockets(ctx, b.opts, close) })
}

// each runs f on the adapter of every namespace the broadcast targets.
func (b Broadcast) each(f func(Adapter) error) error {
	var errs []error
	for _, nsp := range b.nsp.targets() {
		if err := f(nsp.adapter); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EncodedPacket is an event on its way to many sockets: what adapters
// carry. Packet is the event before encoding: Type parser.Event, and Args
// the event's name followed by its arguments. The adapter delivering it
// on this server sets the namespace and, for an acknowledged broadcast,
// an ack id of this server's, then encodes it once, with the server's
// parser, for every target; on WebSocket it is also framed once. An
// adapter receiving an event from another server builds one with
// &EncodedPacket{Packet: p}. An EncodedPacket is delivered by one adapter.
type EncodedPacket struct {
	// Packet is the event packet.
	Packet parser.Packet
	// Offset, when set, is the packet's offset for connection state
	// recovery: it is sent as the event's last argument. A RecoveryAdapter
	// sets it before delivery (see MemoryAdapter.Broadcast).
	Offset string

	once   sync.Once
	err    error
	engine []transport.Packet
}

// withoutCompression returns a copy of pkts marked NoCompress. The copies
// share the originals' frame caches: a broadcast's prepared WebSocket frame
// holds both forms.
func withoutCompression(pkts []transport.Packet) []transport.Packet {
	out := slices.Clone(pkts)
	for i := range out {
		out[i].NoCompress = true
	}
	return out
}

// newEventPacket returns the packet of event with args, the name first, in
// one slice allocated at its final size.
func newEventPacket(event string, args []any) *EncodedPacket {
	all := make([]any, 1, len(args)+1)
	all[0] = event
	return &EncodedPacket{Packet: parser.Packet{Type: parser.Event, Args: append(all, args...)}}
}

// encodeFor encodes the packet once, for namespace nsp and, with hasID,
// ack id id, with srv's parser, and returns it as engine packets shared by
// every target (so that each transport frames them once), which carry the
// server's burst.
func (p *EncodedPacket) encodeFor(srv *Server, nsp string, id uint64, hasID bool) ([]transport.Packet, error) {
	p.once.Do(func() {
		pkt := p.Packet
		pkt.Type, pkt.Namespace, pkt.ID, pkt.HasID = parser.Event, nsp, id, hasID
		if p.Offset != "" {
			pkt.Args = append(slices.Clip(pkt.Args), p.Offset)
		}
		frames, err := srv.codec.Encode(&pkt)
		if err != nil {
			p.err = err
			return
		}
		caches := make([]transport.FrameCache, len(frames))
		for i := range caches {
			caches[i].Burst = &srv.burst
		}
		p.engine = toEnginePackets(frames, caches)
	})
	return p.engine, p.err
}
