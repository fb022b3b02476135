package client

import (
	"slices"
	"sync/atomic"

	"github.com/ferryio/ferry/parser"
)

// EventHandler handles an event from the server. Handlers run on the
// client's dispatch goroutine, one at a time, in arrival order; see the
// package documentation for what they may do.
type EventHandler func(e *Event)

// Event is an event received from the server. Its arguments stay encoded
// until the handler decodes them into its own types.
type Event struct {
	// Name is the event name (a numeric name is given in decimal).
	Name string
	// Args are the arguments after the name. From a server with
	// connection state recovery on, the events it may replay end with an
	// extra argument, their offset (a string): see Socket.Recovered.
	Args parser.Args

	socket *Socket
	eng    *engine // session the event came over; its ack must go back on it
	id     uint64
	hasID  bool
	acked  atomic.Bool
}

// Socket returns the socket the event arrived on.
func (e *Event) Socket() *Socket { return e.socket }

// Decode decodes the event's arguments in order into the pointers in
// targets; see parser.Args.Decode. A nil target skips its argument; too
// few arguments give an error wrapping parser.ErrArgCount.
func (e *Event) Decode(targets ...any) error { return e.Args.Decode(targets...) }

// WantsAck reports whether the server asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasID }

// Ack sends the acknowledgement the server asked for, with args as its
// arguments. It may be called from any goroutine, once: a second call fails
// with ErrAckSent. It fails with ErrNoAck when the server asked for none,
// with ErrDisconnected (wrapped) when the connection the event came over is
// gone, and with ErrQueueFull (wrapped) when the acknowledgement would
// overflow Options.MaxQueuedPackets (the connection then closes).
func (e *Event) Ack(args ...any) error {
	if !e.hasID {
		return ErrNoAck
	}
	if !e.acked.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	err := e.socket.sendAck(e.eng, e.id, args)
	if err != nil {
		e.acked.Store(false)
	}
	return err
}

// On adds h to the handlers of the named event. Handlers of one event run
// in the order they were added, after the OnAny handlers.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	s.handlers[event] = append(s.handlers[event], h)
	s.mu.Unlock()
}

// Off removes every handler of the named event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny adds h to the handlers run for every event, before the event's own
// handlers.
func (s *Socket) OnAny(h EventHandler) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, h)
	s.mu.Unlock()
}

// onEvent queues an event that arrived over e for the handlers. An event
// that arrives before the CONNECT reply (with connection state recovery,
// the server sends the missed events first) waits for it, as in
// socket.io-client.
func (s *Socket) onEvent(e *engine, msg *parser.Message) {
	ev := &Event{Name: msg.Event, Args: msg.Args, socket: s, eng: e, id: msg.ID, hasID: msg.HasID}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.eng != e:
	case s.connected:
		s.dispatchEventLocked(ev)
	case s.active:
		s.early = append(s.early, ev)
	}
}

// dispatchEventLocked queues ev for the handlers. Handlers are looked up
// when it is dispatched, so a handler added by an earlier handler sees it.
// With a private id set, ev's trailing string becomes the offset sent on
// the next reconnection: an event queued here is delivered even if the
// connection is lost meanwhile, so the server must not send it again.
func (s *Socket) dispatchEventLocked(ev *Event) {
	if s.pid != "" {
		if offset, ok := trailingString(ev.Args); ok {
			s.lastOffset, s.hasOffset = offset, true
		}
	}
	s.c.disp.push(func() {
		s.mu.Lock()
		hs := slices.Concat(s.anyHandlers, s.handlers[ev.Name])
		s.mu.Unlock()
		for _, h := range hs {
			h(ev)
		}
	})
}
