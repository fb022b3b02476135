package ferry

import "slices"

// Handler lists. Every list of handlers (a socket's event handlers, its
// OnAny handlers, a namespace's connection handlers...) is a slice that is
// never modified in place: adding appends past its length, and removing or
// prepending builds a new backing array. A dispatcher copies the slice
// header under its owner's lock and runs the handlers without it: what it
// copied never changes, so a handler may add or remove handlers, which
// takes effect from the next dispatch.
//
// Go functions are not comparable, so a handler is removed with the
// function its registration returned, which knows its id. Ids come from a
// counter of the server's; the lowest bit marks a handler that runs once.

// listener is a handler in a list, with the id that removes it.
type listener[F any] struct {
	f  F
	id uint64
}

// eventListener is a handler for one event name.
type eventListener struct {
	event string
	listener[func(*Event)]
}

func (l listener[F]) listenerID() uint64 { return l.id }

// once reports whether the handler is removed as it runs (see Socket.Once).
func (l listener[F]) once() bool { return l.id&1 == 1 }

// identified is a list element.
type identified interface{ listenerID() uint64 }

// newListenerID returns a new handler id, marked to run once if once.
func (s *Server) newListenerID(once bool) uint64 {
	id := s.listenerIDs.Add(1) << 1
	if once {
		id |= 1
	}
	return id
}

// without returns l without the element with the given id, in a new
// backing array, and whether it was there. l itself is left unchanged.
func without[L identified](l []L, id uint64) ([]L, bool) {
	i := slices.IndexFunc(l, func(x L) bool { return x.listenerID() == id })
	if i < 0 {
		return l, false
	}
	out := make([]L, 0, len(l)-1)
	out = append(out, l[:i]...)
	return append(out, l[i+1:]...), true
}

// prepended returns l with x first, in a new backing array.
func prepended[L any](l []L, x L) []L {
	out := make([]L, 0, len(l)+1)
	out = append(out, x)
	return append(out, l...)
}

// withoutEvent returns l without the handlers of event, in a new backing
// array if any was there.
func withoutEvent(l []eventListener, event string) []eventListener {
	if !slices.ContainsFunc(l, func(h eventListener) bool { return h.event == event }) {
		return l
	}
	out := make([]eventListener, 0, len(l)-1)
	for _, h := range l {
		if h.event != event {
			out = append(out, h)
		}
	}
	return out
}

// eventFuncs returns the functions of the handlers of event, in order.
func eventFuncs(l []eventListener, event string) []func(*Event) {
	var out []func(*Event)
	for _, h := range l {
		if h.event == event {
			out = append(out, h.f)
		}
	}
	return out
}

// countEvent returns the number of handlers of event.
func countEvent(l []eventListener, event string) int {
	n := 0
	for _, h := range l {
		if h.event == event {
			n++
		}
	}
	return n
}

// funcs returns the functions of l's handlers, in order.
func funcs[F any](l []listener[F]) []F {
	if len(l) == 0 {
		return nil
	}
	out := make([]F, len(l))
	for i, h := range l {
		out[i] = h.f
	}
	return out
}

// addListener adds h to the socket's handler list that list returns (it is
// called with s.mu held, and may make the list's holder), first or last,
// and returns a function that removes it.
func addListener[F any](s *Socket, list func() *[]listener[F], h F, first bool) (off func()) {
	l := listener[F]{h, s.nsp.server.newListenerID(false)}
	s.mu.Lock()
	p := list()
	if first {
		*p = prepended(*p, l)
	} else {
		*p = append(*p, l)
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		*p, _ = without(*p, l.id)
		s.mu.Unlock()
	}
}
