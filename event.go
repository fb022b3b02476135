package ferry

import (
	"context"
	"fmt"
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
// handler error is logged as a warning too, and the event is not acked.
func Handle[T any](s *Socket, event string, h func(s *Socket, v T) error) {
	s.On(event, func(e *Event) {
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
func HandleAck[T, R any](s *Socket, event string, h func(s *Socket, v T) (R, error)) {
	s.On(event, func(e *Event) {
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

// Emitter emits to one socket with options set: Volatile, Timeout. It is a
// value; each method returns a modified copy.
type Emitter struct {
	s        *Socket
	volatile bool
	timeout  time.Duration
}

// Volatile returns a copy whose events are dropped when the client is not
// ready to receive them.
func (em Emitter) Volatile() Emitter { em.volatile = true; return em }

// Timeout returns a copy whose EmitWithAck gives up after d.
func (em Emitter) Timeout(d time.Duration) Emitter { em.timeout = d; return em }

// Emit sends an event to the socket's client.
func (em Emitter) Emit(event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if s := em.s; s.rec != nil && !em.volatile && s.Connected() {
		// As in socket.io: with recovery on, an event to one socket goes
		// through the adapter to the socket's own room, which gives it an
		// offset and keeps it for replay.
		return s.nsp.adapter.Broadcast(context.Background(), newEventPacket(event, args), BroadcastOptions{Rooms: []string{s.id}})
	}
	err := em.s.send(&parser.Packet{
		Type:      parser.Event,
		Namespace: em.s.nsp.name,
		Args:      eventArgs(event, args),
	}, em.volatile)
	if err == errDropped {
		return nil // what volatile means
	}
	return err
}

// EmitWithAck sends an event and waits for the client's ack. It returns
// ctx's error (wrapped) if ctx ends or the Timeout passes first,
// ErrDisconnected if the socket disconnects first, and, for a Volatile
// Emitter, ErrDropped at once if the event was dropped.
func (em Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if parser.IsReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	if em.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, em.timeout)
		defer cancel()
	}
	s := em.s
	id := s.nsp.ackIDs.Add(1) - 1
	type result struct {
		args Args
		ok   bool
	}
	reply := make(chan result, 1)
	if !s.expectAck(id, func(a Args, ok bool) { reply <- result{a, ok} }) {
		return nil, ErrDisconnected
	}
	err := s.send(&parser.Packet{
		Type:      parser.Event,
		Namespace: s.nsp.name,
		ID:        id,
		HasID:     true,
		Args:      eventArgs(event, args),
	}, em.volatile)
	if err != nil {
		s.dropAck(id)
		if err == errDropped {
			err = ErrDropped
		}
		return nil, err
	}
	select {
	case r := <-reply:
		if !r.ok {
			return nil, ErrDisconnected
		}
		return r.args, nil
	case <-ctx.Done():
		s.dropAck(id)
		return nil, fmt.Errorf("ferry: waiting for ack of %q: %w", event, ctx.Err())
	}
}

// eventArgs returns an event packet's arguments, the name first, in one
// slice allocated at its final size.
func eventArgs(event string, args []any) []any {
	out := make([]any, 1, len(args)+1)
	out[0] = event
	return append(out, args...)
}
