package ferry

import "slices"

// Room events: a namespace may be told of each room a socket joins or
// leaves (socket.io's adapter events "join-room" and "leave-room"). Most
// namespaces have no such handler, and pay one atomic load per change; a
// watched namespace compares the socket's rooms before and after each
// change, under its roomMu, so that each change is reported once however
// many goroutines change rooms at once, whatever the Adapter.

// roomHooks are a namespace's OnJoinRoom and OnLeaveRoom handlers. The
// value is never modified: adding or removing a handler stores a new one,
// under the namespace's mu.
type roomHooks struct {
	join  []listener[func(*Socket, string)]
	leave []listener[func(*Socket, string)]
}

// OnJoinRoom adds a handler run each time a socket of the namespace joins a
// room it was not in (socket.io's adapter event "join-room"): its own room
// and those its middleware joined, as it connects; those joined with Join,
// SocketsJoin or a broadcast's SocketsJoin; and its rooms restored by
// connection state recovery. On a dynamic parent, it applies to every
// child.
//
// The handler runs after the change, on the goroutine that made it (a
// connection's read goroutine, or the application's), outside Ferry's
// locks; changes made at once by several goroutines are reported in no set
// order. A panic in it is recovered as in an event handler, ending the
// socket's connection. It returns a function that removes the handler.
func (n *Namespace) OnJoinRoom(h func(s *Socket, room string)) (off func()) {
	return n.addRoomHook(h, true)
}

// OnLeaveRoom adds a handler run each time a socket of the namespace leaves
// a room it was in (socket.io's adapter event "leave-room"): with Leave,
// SocketsLeave or a broadcast's SocketsLeave, and every room as the socket
// disconnects, before its OnDisconnect handlers run. It applies and runs
// as OnJoinRoom's handlers do. It returns a function that removes the
// handler.
func (n *Namespace) OnLeaveRoom(h func(s *Socket, room string)) (off func()) {
	return n.addRoomHook(h, false)
}

func (n *Namespace) addRoomHook(h func(*Socket, string), join bool) func() {
	l := listener[func(*Socket, string)]{h, n.server.newListenerID(false)}
	n.mu.Lock()
	next := roomHooks{}
	if cur := n.roomHooks.Load(); cur != nil {
		next = *cur
	}
	if join {
		next.join = append(next.join[:len(next.join):len(next.join)], l)
	} else {
		next.leave = append(next.leave[:len(next.leave):len(next.leave)], l)
	}
	n.roomHooks.Store(&next)
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		cur := n.roomHooks.Load()
		if cur == nil {
			return
		}
		next := *cur
		next.join, _ = without(next.join, l.id)
		next.leave, _ = without(next.leave, l.id)
		if len(next.join) == 0 && len(next.leave) == 0 {
			n.roomHooks.Store(nil) // unwatched again: changes cost one load
			return
		}
		n.roomHooks.Store(&next)
	}
}

// watched reports whether the namespace, or its dynamic parent, has room
// event handlers.
func (n *Namespace) watched() bool {
	return n.roomHooks.Load() != nil || (n.parent != nil && n.parent.roomHooks.Load() != nil)
}

// changeRooms runs change, which alters socket s's rooms through the
// adapter, and reports the rooms s joined and left to the room event
// handlers. Callers run change directly when the namespace is not watched.
func (n *Namespace) changeRooms(s *Socket, change func()) {
	n.roomMu.Lock()
	before := n.adapter.SocketRooms(s.id)
	change()
	after := n.adapter.SocketRooms(s.id)
	n.roomMu.Unlock()
	n.reportRooms(s, subtract(after, before), subtract(before, after))
}

// reportRooms runs the room event handlers, the parent's first, for the
// rooms s joined, then for those it left.
func (n *Namespace) reportRooms(s *Socket, joined, left []string) {
	if len(joined) == 0 && len(left) == 0 {
		return
	}
	var hooks []*roomHooks
	if n.parent != nil {
		if h := n.parent.roomHooks.Load(); h != nil {
			hooks = append(hooks, h)
		}
	}
	if h := n.roomHooks.Load(); h != nil {
		hooks = append(hooks, h)
	}
	for _, room := range joined {
		for _, h := range hooks {
			for _, l := range h.join {
				s.conn.guard(func() { l.f(s, room) })
			}
		}
	}
	for _, room := range left {
		for _, h := range hooks {
			for _, l := range h.leave {
				s.conn.guard(func() { l.f(s, room) })
			}
		}
	}
}

// subtract returns the elements of a that are not in b, in a's order.
func subtract(a, b []string) []string {
	var out []string
	if len(b) > 16 {
		set := make(map[string]struct{}, len(b))
		for _, y := range b {
			set[y] = struct{}{}
		}
		for _, x := range a {
			if _, ok := set[x]; !ok {
				out = append(out, x)
			}
		}
		return out
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
