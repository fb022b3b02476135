package ferry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Middleware runs when a socket asks to join a namespace, before the
// connection handlers. Returning an error refuses the connection: the
// client's connect_error handler receives it (see ConnectError), and the
// socket is closed (its Context done) without running any handler.
// Middleware runs on the connection's read goroutine, in the order added,
// on a socket that is not connected yet: see Socket for what it may do
// with it.
type Middleware func(s *Socket) error

// Namespace is a communication channel multiplexed over connections: each
// client joins it with its own Socket. Create one with Server.Of, or
// declare dynamic ones with Server.OfFunc. Its methods are safe for
// concurrent use.
//
// A namespace's adapter is made with the namespace, and closed when the
// server closes or, for a dynamic child, when the child is removed: a child
// made for a connection that is then refused, and which no socket joined,
// is removed at once; with Options.CleanupEmptyChildNamespaces, so is a
// child whose last socket leaves. A client that asks for a removed child
// again gets a new one.
type Namespace struct {
	name    string
	server  *Server
	adapter Adapter
	ackIDs  atomic.Uint64 // ack ids, per namespace as in the reference server
	match   func(string) bool
	parent  *Namespace
	// joining counts connections between lookup and the end of their
	// join. It is raised only with the server's mu held, so that a child
	// found idle under that lock (held for writing) stays so.
	joining atomic.Int32
	// used is set once a socket joined, or Server.Of returned the
	// namespace (with the server's mu held): a child never used is removed
	// once idle, whatever the options.
	used atomic.Bool

	mu         sync.RWMutex
	sockets    map[string]*Socket        // guarded by mu: by socket id
	middleware []Middleware              // guarded by mu
	onConnect  []listener[func(*Socket)] // guarded by mu: copy-on-write (see listeners.go)
	children   map[*Namespace]struct{}   // guarded by mu: for a dynamic parent

	serverSide serverSideHandlers // OnServerSideEmit handlers

	// roomHooks holds the OnJoinRoom and OnLeaveRoom handlers, nil while
	// there is none (see room_events.go); stored with mu held.
	roomHooks atomic.Pointer[roomHooks]
	// roomMu serialises the room changes of a watched namespace, so that
	// each is reported once.
	roomMu sync.Mutex
}

// newNamespace makes a namespace and its adapter. It must not be called
// with the server's mu held: an adapter may take its time to start.
func newNamespace(s *Server, name string, match func(string) bool, parent *Namespace) *Namespace {
	nsp := &Namespace{name: name, server: s, match: match, parent: parent, sockets: make(map[string]*Socket)}
	nsp.adapter = s.opts.Adapter(nsp)
	return nsp
}

// closeAdapter closes the namespace's adapter, logging a failure.
func (n *Namespace) closeAdapter() {
	if err := n.adapter.Close(); err != nil {
		n.server.logger.Warn("closing adapter", "namespace", n.name, "err", err)
	}
}

// Name returns the namespace's name, such as "/" or "/admin". A dynamic
// parent's name is empty.
func (n *Namespace) Name() string { return n.name }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.server }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware. On a dynamic parent, it applies to every child.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middleware = append(n.middleware, m)
	n.mu.Unlock()
}

// OnConnection adds a handler run for each socket that joins, after the
// middleware accepted it and the client was told it is connected. On a
// dynamic parent, it applies to every child. It returns a function that
// removes the handler, for the sockets that join from then on.
func (n *Namespace) OnConnection(h func(*Socket)) (off func()) {
	l := listener[func(*Socket)]{h, n.server.newListenerID(false)}
	n.mu.Lock()
	n.onConnect = append(n.onConnect, l)
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		n.onConnect, _ = without(n.onConnect, l.id)
		n.mu.Unlock()
	}
}

func (n *Namespace) addChild(c *Namespace) {
	n.mu.Lock()
	if n.children == nil {
		n.children = make(map[*Namespace]struct{})
	}
	n.children[c] = struct{}{}
	n.mu.Unlock()
}

func (n *Namespace) removeChild(c *Namespace) {
	n.mu.Lock()
	delete(n.children, c)
	n.mu.Unlock()
}

// idle reports whether a dynamic child may be removed: no socket is in it,
// and either it was never used or cleanup asks for empty children to go.
// The caller holds the server's mu and has checked joining.
func (n *Namespace) idle(cleanup bool) bool {
	n.mu.RLock()
	empty := len(n.sockets) == 0
	n.mu.RUnlock()
	return empty && (cleanup || !n.used.Load())
}

// runMiddleware runs the parent's middleware (for a dynamic child) and
// then the namespace's own, stopping at the first error.
func (n *Namespace) runMiddleware(s *Socket) error {
	var chain []Middleware
	if n.parent != nil {
		n.parent.mu.RLock()
		chain = append(chain, n.parent.middleware...)
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	chain = append(chain, n.middleware...)
	n.mu.RUnlock()
	for _, m := range chain {
		if err := m(s); err != nil {
			return err
		}
	}
	return nil
}

// join admits a socket that passed the middleware: it joins its own room
// and those the middleware joined, the client gets the CONNECT reply and
// what the middleware emitted, and the connection handlers run.
func (n *Namespace) join(s *Socket) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	var handlers []func(*Socket)
	handlers = n.connectionHandlers(handlers)
	rooms, early, ok := s.connect()
	if ok {
		n.used.Store(true)
		n.addAll(s, rooms)
		if o := n.server.obs; o != nil {
			o.Connected(n.name)
		}
	}
	// Events that reached the socket once in its rooms were held: the
	// client gets the CONNECT reply first, then what the middleware
	// emitted, then those.
	if !ok || !s.reply(early) {
		// The connection closed while the socket was joining, and the
		// socket may have left before it was added: undo the adds, and
		// neither answer the CONNECT nor run the handlers.
		n.remove(s)
		s.leaveAll()
		return
	}
	s.track()
	for _, h := range handlers {
		h(s)
	}
}

// connectionHandlers returns the connection handlers to run for a socket
// that joins: the dynamic parent's, then the namespace's own.
func (n *Namespace) connectionHandlers(into []func(*Socket)) []func(*Socket) {
	if n.parent != nil {
		n.parent.mu.RLock()
		for _, h := range n.parent.onConnect {
			into = append(into, h.f)
		}
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	for _, h := range n.onConnect {
		into = append(into, h.f)
	}
	n.mu.RUnlock()
	return into
}

// addAll adds a socket that just connected to its rooms. With recovery on,
// it also records the offset of the newest event broadcast before: a
// client that later sends no offset missed what came after it.
func (n *Namespace) addAll(s *Socket, rooms []string) {
	if n.watched() {
		n.changeRooms(s, func() { n.addAllUnwatched(s, rooms) })
		return
	}
	n.addAllUnwatched(s, rooms)
}

// addAllUnwatched is addAll without reporting the rooms joined.
func (n *Namespace) addAllUnwatched(s *Socket, rooms []string) {
	if s.rec == nil {
		n.adapter.AddAll(s.id, rooms)
		return
	}
	var offset string
	switch a := n.adapter.(type) {
	case interface{ joinOffset(string, []string) string }:
		offset = a.joinOffset(s.id, rooms) // exact: both under the adapter's lock
	case RecoveryAdapter:
		offset = a.Offset()
		a.AddAll(s.id, rooms)
	default:
		n.adapter.AddAll(s.id, rooms)
	}
	s.rec.mu.Lock()
	s.rec.connectOffset = offset
	s.rec.mu.Unlock()
}

// admitRecovered admits a socket restored by connection state recovery:
// under the adapter's lock (see RecoveryAdapter.RestoreSession), it enters
// the namespace connected, and its client gets the events it missed, then,
// with reply, the CONNECT reply. It reports false if the connection closed
// meanwhile.
func (n *Namespace) admitRecovered(s *Socket, missed []*EncodedPacket, reply bool) bool {
	if !s.connectRecovered() {
		return false
	}
	if o := n.server.obs; o != nil {
		o.Connected(n.name)
	}
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.used.Store(true)
	for _, pkt := range missed {
		frames, err := pkt.encodeFor(n.server, n.name, 0, false)
		if err != nil {
			continue
		}
		s.sendOffset(frames, false, pkt.Offset, "")
	}
	if reply {
		s.sendConnect()
	}
	return true
}

// remove takes a socket out of the namespace; a dynamic child left empty
// may then be removed (see Server.dropIfIdle).
func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	empty := len(n.sockets) == 0
	n.mu.Unlock()
	if empty && n.parent != nil {
		n.server.dropIfIdle(n)
	}
}

// Socket returns the socket with the given id connected to this server, or
// nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// localSockets returns the sockets connected to this server.
func (n *Namespace) localSockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// targets returns the namespaces a broadcast on n reaches: n itself, or
// for a dynamic parent, its children.
func (n *Namespace) targets() []*Namespace {
	if n.match == nil {
		return []*Namespace{n}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Namespace, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	return out
}

// broadcast returns a Broadcast over the whole namespace.
func (n *Namespace) broadcast() Broadcast { return Broadcast{nsp: n} }

// Emit sends an event to every socket in the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.broadcast().Emit(event, args...) }

// EmitWithAck sends an event to every socket in the namespace and collects
// their acks; see Broadcast.EmitWithAck.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.broadcast().EmitWithAck(ctx, event, args...)
}

// EmitWithAckFunc sends an event to every socket in the namespace and
// hands their acks to f; see Broadcast.EmitWithAckFunc.
func (n *Namespace) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(acks []Args, err error)) error {
	return n.broadcast().EmitWithAckFunc(ctx, event, args, f)
}

// SocketCount returns the number of sockets in the namespace, on every
// server; see Broadcast.SocketCount.
func (n *Namespace) SocketCount(ctx context.Context) (int, error) {
	return n.broadcast().SocketCount(ctx)
}

// To selects the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) Broadcast { return n.broadcast().To(rooms...) }

// In is the same as To.
func (n *Namespace) In(rooms ...string) Broadcast { return n.broadcast().To(rooms...) }

// Except selects the sockets in none of rooms.
func (n *Namespace) Except(rooms ...string) Broadcast { return n.broadcast().Except(rooms...) }

// Local restricts a broadcast to sockets connected to this server.
func (n *Namespace) Local() Broadcast { return n.broadcast().Local() }

// Timeout returns a Broadcast over the whole namespace whose EmitWithAck
// stops waiting after d; see Broadcast.Timeout.
func (n *Namespace) Timeout(d time.Duration) Broadcast { return n.broadcast().Timeout(d) }

// Volatile makes a broadcast skip sockets that are not ready to receive it.
func (n *Namespace) Volatile() Broadcast { return n.broadcast().Volatile() }

// Compress returns a Broadcast over the whole namespace whose events are
// compressed only if compress is true; see Broadcast.Compress.
func (n *Namespace) Compress(compress bool) Broadcast { return n.broadcast().Compress(compress) }

// FetchSockets returns the namespace's sockets; see Broadcast.FetchSockets.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.broadcast().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms, on every
// server; see Broadcast.SocketsJoin.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return n.broadcast().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms, on every
// server.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return n.broadcast().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace, on every
// server; with close, their connections are closed too.
func (n *Namespace) DisconnectSockets(ctx context.Context, close bool) error {
	return n.broadcast().DisconnectSockets(ctx, close)
}
