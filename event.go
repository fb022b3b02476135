package ferry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryio/ferry/parser"
)

// Args are an event's or an ack's arguments, still encoded: decode them
// into your own types with Decode (see parser.Args.Decode). The Go client
// hands over arguments in the same type.
type Args = parser.Args

// Event is an event received from a client.
type Event struct {
	// Name is the event name.
	Name string
	// Args are the arguments after the name.
	Args Args

	socket   *Socket
	id       uint64
	wantsAck bool
	acked    atomic.Bool
	// reply, if set, answers the event instead of an ACK packet: for an
	// event from another server (see Namespace.OnServerSideEmit).
	reply func(args []any) error
}

// Socket returns the socket the event came from, or nil for an event from
// another server (see Namespace.OnServerSideEmit).
func (e *Event) Socket() *Socket { return e.socket }

// Decode decodes the event's arguments; see Args.Decode.
func (e *Event) Decode(targets ...any) error { return e.Args.Decode(targets...) }

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.wantsAck }

// Ack answers the event; the client's ack callback receives args. It may
// be called from any goroutine, once: later calls return ErrAlreadyAcked.
// It returns ErrNoAck if the client did not ask for an ack.
func (e *Event) Ack(args ...any) error {
	if !e.wantsAck {
		return ErrNoAck
	}
	if e.acked.Swap(true) {
		return ErrAlreadyAcked
	}
	if e.reply != nil {
		return e.reply(args)
	}
	s := e.socket
	return s.conn.send(&parser.Packet{
		Type:      parser.Ack,
		Namespace: s.nsp.name,
		ID:        e.id,
		HasID:     true,
		Args:      args,
	}, false)
}

// Handle registers a handler for the named event whose first argument
// decodes into a T: a typed alternative to Socket.On. If the client asked
// for an ack, the event is acknowledged with no arguments after the handler
// succeeds. An argument that does not decode is logged as a warning, with
// the event name and the socket id, and the event is dropped (no ack); a
// handler error is logged as a warning too, and the event is not acked. It
// returns a function that removes the handler, as Socket.On does.
func Handle[T any](s *Socket, event string, h func(s *Socket, v T) error) (off func()) {
	return s.On(event, func(e *Event) {
		var v T
		if err := e.Decode(&v); err != nil {
			s.nsp.server.logger.Warn("dropping event: argument does not decode", "event", event, "socket", s.id, "err", err)
			return
		}
		if err := h(s, v); err != nil {
			s.nsp.server.logger.Warn("event handler failed", "event", event, "socket", s.id, "err", err)
			return
		}
		if e.WantsAck() {
			e.Ack()
		}
	})
}

// invalidArgument is the error HandleAck's ack carries when the event's
// argument does not decode. Its text is documented: clients may test it.
const invalidArgument = "invalid argument"

// HandleAck registers a handler for the named event whose first argument
// decodes into a T, and whose result R answers the client's ack. Failures
// are acked too, so that a client awaiting the ack is not left waiting:
//
//   - an argument that does not decode is logged as a warning, with the
//     event name and the socket id, and acked with {"error": "invalid
//     argument"}: the decoder's own text, which names Ferry's internals,
//     stays on the server;
//   - a handler error is acked with {"error": err.Error()}: the handler's
//     errors are meant for the client. For the server it is routine (a
//     refused input), so it is logged at debug level only.
//
// It returns a function that removes the handler, as Socket.On does.
func HandleAck[T, R any](s *Socket, event string, h func(s *Socket, v T) (R, error)) (off func()) {
	return s.On(event, func(e *Event) {
		var v T
		if err := e.Decode(&v); err != nil {
			s.nsp.server.logger.Warn("acking an error: argument does not decode", "event", event, "socket", s.id, "err", err)
			e.Ack(map[string]any{"error": invalidArgument})
			return
		}
		r, err := h(s, v)
		if err != nil {
			s.nsp.server.logger.Debug("event handler failed", "event", event, "socket", s.id, "err", err)
			e.Ack(map[string]any{"error": err.Error()})
			return
		}
		e.Ack(r)
	})
}

// Emitter emits to one socket with options set: Volatile, Compress,
// Timeout. It is a value; each method returns a modified copy.
type Emitter struct {
	s          *Socket
	volatile   bool
	noCompress bool
	timeout    time.Duration
}

// Volatile returns a copy whose events are dropped when the client is not
// ready to receive them.
func (em Emitter) Volatile() Emitter { em.volatile = true; return em }

// Compress returns a copy whose events are compressed only if compress is
// true, the default: socket.io's compress flag. See Broadcast.Compress.
func (em Emitter) Compress(compress bool) Emitter { em.noCompress = !compress; return em }

// Timeout returns a copy whose EmitWithAck and EmitWithAckFunc stop
// waiting after d, as a context deadline would: a convenience for passing
// them context.WithTimeout(ctx, d).
func (em Emitter) Timeout(d time.Duration) Emitter { em.timeout = d; return em }

// Emit sends an event to the socket's client.
func (em Emitter) Emit(event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	s := em.s
	if !em.volatile && s.keepsEvents() {
		// As in socket.io: with recovery on, an event to one socket goes
		// through the adapter to the socket's own room, which gives it an
		// offset and keeps it for replay, also while the socket is away
		// (and runs the OnAnyOutgoing handlers, as for any broadcast).
		return s.nsp.adapter.Broadcast(context.Background(), newEventPacket(event, args), BroadcastOptions{Rooms: []string{s.id}, NoCompress: em.noCompress})
	}
	all := eventArgs(event, args)
	s.notifyOutgoing(all, "")
	err := s.sendPacket(&parser.Packet{
		Type:      parser.Event,
		Namespace: s.nsp.name,
		Args:      all,
	}, em.volatile, em.noCompress)
	if err == errDropped {
		return nil // what volatile means
	}
	return err
}

// EmitWithAck sends an event and waits for the client's ack, until ctx is
// done or the Timeout passes. It returns ctx's error (wrapped:
// context.DeadlineExceeded for a Timeout) if the ack has not come by then,
// ErrDisconnected if the socket disconnects first, and, for a Volatile
// Emitter, ErrDropped at once if the event was dropped.
//
// Called from one of the socket's own handlers, it would wait for an ack
// that cannot be read until the handler returns: use EmitWithAckFunc
// there, or a new goroutine.
func (em Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	type result struct {
		args Args
		err  error
	}
	reply := make(chan result, 1)
	if err := em.EmitWithAckFunc(ctx, event, args, func(a Args, err error) { reply <- result{a, err} }); err != nil {
		return nil, err
	}
	r := <-reply
	return r.args, r.err
}

// EmitWithAckFunc sends an event and returns at once; f receives the
// client's ack later (socket.io's socket.emit(event, ...args, callback)).
// f runs exactly once: with the ack's arguments, or with ctx's error
// (wrapped: context.DeadlineExceeded for a Timeout) once ctx is done
// first, or with ErrDisconnected if the socket disconnects first. Nothing
// waits meanwhile: no goroutine is started, and a deadline is a timer.
//
// f runs on the goroutine that brings its outcome: the connection's read
// goroutine for the ack (so f runs in turn with the socket's handlers, and
// must not block), the one that ends the socket, or a timer's. A panic in
// f is handled as one in a handler is (see the package documentation).
// So a handler may ask its own client for an ack and return:
//
//	s.On("order", func(e *ferry.Event) {
//		s.Timeout(5*time.Second).EmitWithAckFunc(context.Background(), "confirm", nil,
//			func(reply ferry.Args, err error) { ... })
//	})
//
// It returns an error, and never runs f, if the event cannot be sent: a
// reserved name, a socket already disconnected (ErrDisconnected), a
// Volatile event dropped (ErrDropped), an argument that does not encode.
func (em Emitter) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(reply Args, err error)) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	cancel := context.CancelFunc(func() {})
	if em.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, em.timeout)
	}
	s := em.s
	w := &ackWait{s: s, event: event, f: f, cancel: cancel}
	w.id = s.nsp.ackIDs.Add(1) - 1
	if !s.expectAck(w.id, w.receive) {
		cancel()
		return ErrDisconnected
	}
	stop := context.AfterFunc(ctx, func() { w.expire(ctx) })
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		stop()
	} else {
		w.stop = stop
		w.mu.Unlock()
	}
	all := eventArgs(event, args)
	s.notifyOutgoing(all, "")
	err := s.sendPacket(&parser.Packet{
		Type:      parser.Event,
		Namespace: s.nsp.name,
		ID:        w.id,
		HasID:     true,
		Args:      all,
	}, em.volatile, em.noCompress)
	if err != nil {
		if s.takeAck(w.id) == nil {
			// The socket disconnected meanwhile, and f has heard of it.
			return nil
		}
		w.release()
		if err == errDropped {
			err = ErrDropped
		}
		return err
	}
	return nil
}

// ackWait is an EmitWithAckFunc waiting for its outcome. Whichever takes
// its id out of the socket's pending acks (the ack, the socket's end, the
// deadline) delivers it.
type ackWait struct {
	s      *Socket
	id     uint64
	event  string
	f      func(Args, error)
	cancel context.CancelFunc // releases a Timeout's context

	mu   sync.Mutex
	done bool        // guarded by mu: the outcome is delivered
	stop func() bool // guarded by mu: stops the deadline's AfterFunc
}

// receive is the socket's ack callback: the ack (ok), or the socket's end.
func (w *ackWait) receive(args Args, ok bool) {
	if ok {
		w.deliver(args, nil)
	} else {
		w.deliver(nil, ErrDisconnected)
	}
}

// expire delivers ctx's error, unless the outcome came first.
func (w *ackWait) expire(ctx context.Context) {
	if w.s.takeAck(w.id) != nil {
		if o := w.s.nsp.server.obs; o != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			o.AckTimeout(w.s.nsp.name)
		}
		w.deliver(nil, fmt.Errorf("ferry: waiting for ack of %q: %w", w.event, ctx.Err()))
	}
}

// release stops the deadline and frees the Timeout's context.
func (w *ackWait) release() {
	w.mu.Lock()
	w.done = true
	stop := w.stop
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	w.cancel()
}

func (w *ackWait) deliver(args Args, err error) {
	w.release()
	w.s.conn.guard(func() { w.f(args, err) })
}

// eventArgs returns an event packet's arguments, the name first, in one
// slice allocated at its final size.
func eventArgs(event string, args []any) []any {
	out := make([]any, 1, len(args)+1)
	out[0] = event
	return append(out, args...)
}
