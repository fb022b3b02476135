package ferry

import (
	"slices"

	"github.com/ferryio/ferry/parser"
)

// socketExtra holds the handlers few sockets have. Its fields are guarded
// by the socket's mu, and copy-on-write (see listeners.go); middleware is
// only appended to.
type socketExtra struct {
	any        []listener[func(*Event)]
	outgoing   []listener[func(event string, args []any)]
	middleware []func(*Event) error
	onError    []listener[func(*Socket, error)]
}

// extraLocked returns s.extra, made if needed. The caller holds s.mu.
func (s *Socket) extraLocked() *socketExtra {
	x := s.extra.Load()
	if x == nil {
		x = new(socketExtra)
		s.extra.Store(x)
	}
	return x
}

// On adds a handler for the named event from the client, run after those
// added before it (see Socket for where handlers run). It returns a
// function that removes the handler (socket.io's socket.off(event,
// listener)); calling it again does nothing.
//
// Names that Socket.IO reserves (connect, disconnect, disconnecting...)
// never come from a client: use OnDisconnect and OnDisconnecting. An event
// named "error" from the client reaches On("error") handlers; OnError
// handlers hear of events refused by a middleware.
func (s *Socket) On(event string, h func(e *Event)) (off func()) {
	return s.addHandler(event, h, false)
}

// Once adds a handler for the named event that runs at most once: it is
// removed as the next such event arrives, before it runs. The function
// returned removes it if it has not run yet.
func (s *Socket) Once(event string, h func(e *Event)) (off func()) {
	return s.addHandler(event, h, true)
}

func (s *Socket) addHandler(event string, h func(*Event), once bool) func() {
	id := s.nsp.server.newListenerID(once)
	s.mu.Lock()
	s.handlers = append(s.handlers, eventListener{event, listener[func(*Event)]{h, id}})
	s.mu.Unlock()
	return func() { s.removeHandler(id) }
}

// removeHandler removes the event handler with the given id, and reports
// whether it was there.
func (s *Socket) removeHandler(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ok bool
	s.handlers, ok = without(s.handlers, id)
	return ok
}

// Off removes every handler of the named event added with On or Once
// (socket.io's socket.removeAllListeners(event)). To remove one handler,
// call the function On returned.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	s.handlers = withoutEvent(s.handlers, event)
	s.mu.Unlock()
}

// Listeners returns the handlers of the named event, in the order they
// run (socket.io's socket.listeners(event)).
func (s *Socket) Listeners(event string) []func(e *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return eventFuncs(s.handlers, event)
}

// ListenerCount returns the number of handlers of the named event
// (socket.io's socket.listenerCount(event)).
func (s *Socket) ListenerCount(event string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return countEvent(s.handlers, event)
}

// RemoveAllListeners removes every handler added with On, Once, OnError,
// OnDisconnecting and OnDisconnect, as socket.io's
// socket.removeAllListeners() does. OnAny and OnAnyOutgoing handlers and
// middleware stay: OffAny and OffAnyOutgoing remove the former.
func (s *Socket) RemoveAllListeners() {
	s.mu.Lock()
	s.handlers, s.onDisconnecting, s.onDisconnect = nil, nil, nil
	if x := s.extra.Load(); x != nil {
		x.onError = nil
	}
	s.mu.Unlock()
}

// OnAny adds a handler run for every event from the client, after the
// OnAny handlers added before it, and before the middleware and the
// handlers of the event's name: as in socket.io, it also sees the events a
// middleware refuses. It returns a function that removes the handler.
func (s *Socket) OnAny(h func(e *Event)) (off func()) {
	return s.addAny(h, false)
}

// PrependAny adds a handler as OnAny does, but run before the OnAny
// handlers already added.
func (s *Socket) PrependAny(h func(e *Event)) (off func()) {
	return s.addAny(h, true)
}

func (s *Socket) addAny(h func(*Event), first bool) func() {
	return addListener(s, func() *[]listener[func(*Event)] { return &s.extraLocked().any }, h, first)
}

// OffAny removes every OnAny handler (socket.io's socket.offAny()). To
// remove one, call the function OnAny returned.
func (s *Socket) OffAny() {
	s.mu.Lock()
	if x := s.extra.Load(); x != nil {
		x.any = nil
	}
	s.mu.Unlock()
}

// ListenersAny returns the OnAny handlers, in the order they run.
func (s *Socket) ListenersAny() []func(e *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.extra.Load(); x != nil {
		return funcs(x.any)
	}
	return nil
}

// OnAnyOutgoing adds a handler run for every event sent to the client, as
// socket.io's socket.onAnyOutgoing: those emitted on the socket (with or
// without an ack, volatile ones included), and broadcasts that reach it on
// this server, each just before it is queued. Acks sent to the client are
// not events and do not count. h gets the event's name and its arguments
// as they were given to Emit (for a broadcast from another server, as that
// server's adapter carried them), with connection state recovery's offset
// last when the event has one; it must not modify them, as other sockets
// share them.
//
// The handler runs on the goroutine that emits, and must be quick: a
// broadcast runs it for each socket it reaches before sending to the
// next. A panic in it closes the connection as a panic in any handler
// does (see the package documentation). It returns a function that
// removes the handler.
func (s *Socket) OnAnyOutgoing(h func(event string, args []any)) (off func()) {
	return s.addOutgoing(h, false)
}

// PrependAnyOutgoing adds a handler as OnAnyOutgoing does, but run before
// those already added.
func (s *Socket) PrependAnyOutgoing(h func(event string, args []any)) (off func()) {
	return s.addOutgoing(h, true)
}

func (s *Socket) addOutgoing(h func(string, []any), first bool) func() {
	return addListener(s, func() *[]listener[func(string, []any)] { return &s.extraLocked().outgoing }, h, first)
}

// OffAnyOutgoing removes every OnAnyOutgoing handler (socket.io's
// socket.offAnyOutgoing()).
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	if x := s.extra.Load(); x != nil {
		x.outgoing = nil
	}
	s.mu.Unlock()
}

// ListenersAnyOutgoing returns the OnAnyOutgoing handlers, in the order
// they run.
func (s *Socket) ListenersAnyOutgoing() []func(event string, args []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.extra.Load(); x != nil {
		return funcs(x.outgoing)
	}
	return nil
}

// notifyOutgoing runs the OnAnyOutgoing handlers for an event about to be
// sent: args holds its name, then its arguments; offset, if set, is sent
// after them. Sockets without such handlers pay one atomic load.
func (s *Socket) notifyOutgoing(args []any, offset string) {
	x := s.extra.Load()
	if x == nil || len(args) == 0 {
		return
	}
	s.mu.Lock()
	handlers := x.outgoing
	s.mu.Unlock()
	if len(handlers) == 0 {
		return
	}
	var event string
	switch name := args[0].(type) {
	case string:
		event = name
	case parser.Raw: // relayed from another server
		name.Decode(&event)
	}
	rest := args[1:]
	if offset != "" {
		rest = append(slices.Clip(rest), offset)
	}
	for _, h := range handlers {
		s.conn.guard(func() { h.f(event, rest) })
	}
}

// Use adds a middleware for the events the client sends (socket.io's
// socket.use): each event goes through the middleware in the order added,
// after the OnAny handlers and before the handlers of its name. A
// middleware may change e.Name and e.Args, which the next ones and the
// handlers then see, and may answer the event with e.Ack.
//
// A middleware that returns an error refuses the event: the middleware
// after it and the event's handlers do not run, nor is the event acked
// (unless the middleware did). As in socket.io 4, the client is not told:
// the error goes to the socket's OnError handlers (socket.io's
// socket.on("error")), which may tell it, with an Emit, or disconnect it.
// With no OnError handler the refusal is logged at debug level. If a
// middleware disconnects the socket, the event's handlers do not run.
//
// Middleware runs on the connection's read goroutine, as handlers do.
func (s *Socket) Use(m func(e *Event) error) {
	s.mu.Lock()
	x := s.extraLocked()
	x.middleware = append(x.middleware, m)
	s.mu.Unlock()
}

// OnError adds a handler for the errors with which a middleware (Use)
// refuses events, as socket.io's socket.on("error"). It runs on the
// connection's read goroutine, once for each event refused, with the
// middleware's error. It returns a function that removes the handler.
func (s *Socket) OnError(h func(s *Socket, err error)) (off func()) {
	return addListener(s, func() *[]listener[func(*Socket, error)] { return &s.extraLocked().onError }, h, false)
}

// onError reports that a middleware refused e with err.
func (s *Socket) onError(e *Event, err error) {
	s.mu.Lock()
	handlers := s.extra.Load().onError
	s.mu.Unlock()
	if len(handlers) == 0 {
		s.nsp.server.logger.Debug("event refused by middleware", "event", e.Name, "socket", s.id, "err", err)
		return
	}
	for _, h := range handlers {
		h.f(s, err)
	}
}

// OnDisconnecting adds a handler run when the socket is about to
// disconnect, while Rooms still returns its rooms. It returns a function
// that removes the handler.
func (s *Socket) OnDisconnecting(h func(s *Socket, reason DisconnectReason)) (off func()) {
	return addListener(s, func() *[]listener[func(*Socket, DisconnectReason)] { return &s.onDisconnecting }, h, false)
}

// OnDisconnect adds a handler run once the socket has disconnected. It
// returns a function that removes the handler.
func (s *Socket) OnDisconnect(h func(s *Socket, reason DisconnectReason)) (off func()) {
	return addListener(s, func() *[]listener[func(*Socket, DisconnectReason)] { return &s.onDisconnect }, h, false)
}
