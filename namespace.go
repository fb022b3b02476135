package ferry

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
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
type Namespace struct {
	name    string
	server  *Server
	adapter Adapter
	ackIDs  atomic.Uint64 // ack ids, per namespace as in the reference server
	match   func(string) bool
	parent  *Namespace

	mu         sync.RWMutex
	sockets    map[string]*Socket // guarded by mu: by socket id
	middleware []Middleware       // guarded by mu
	onConnect  []func(*Socket)    // guarded by mu
	children   []*Namespace       // guarded by mu: for a dynamic parent
}

func newNamespace(s *Server, name string, match func(string) bool) *Namespace {
	nsp := &Namespace{name: name, server: s, match: match, sockets: make(map[string]*Socket)}
	nsp.adapter = s.opts.Adapter(nsp)
	return nsp
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
// dynamic parent, it applies to every child.
func (n *Namespace) OnConnection(h func(*Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, h)
	n.mu.Unlock()
}

func (n *Namespace) addChild(c *Namespace) {
	n.mu.Lock()
	n.children = append(n.children, c)
	n.mu.Unlock()
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
	handlers := slices.Clone(n.onConnect)
	n.mu.Unlock()
	if n.parent != nil {
		n.parent.mu.RLock()
		handlers = append(slices.Clone(n.parent.onConnect), handlers...)
		n.parent.mu.RUnlock()
	}
	rooms, early, ok := s.connect()
	if ok {
		n.adapter.AddAll(s.id, rooms)
	}
	if !ok || !s.Connected() {
		// The connection closed while the socket was joining, and the
		// socket may have left before it was added: undo the adds, and
		// neither answer the CONNECT nor run the handlers.
		n.remove(s)
		n.adapter.DelAll(s.id)
		return
	}
	s.sendConnect()
	if len(early) > 0 {
		s.conn.sendFrames(early, false)
	}
	for _, h := range handlers {
		h(s)
	}
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
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
	return append([]*Namespace(nil), n.children...)
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

// To selects the sockets in any of rooms.
func (n *Namespace) To(rooms ...string) Broadcast { return n.broadcast().To(rooms...) }

// In is the same as To.
func (n *Namespace) In(rooms ...string) Broadcast { return n.broadcast().To(rooms...) }

// Except selects the sockets in none of rooms.
func (n *Namespace) Except(rooms ...string) Broadcast { return n.broadcast().Except(rooms...) }

// Local restricts a broadcast to sockets connected to this server.
func (n *Namespace) Local() Broadcast { return n.broadcast().Local() }

// Volatile makes a broadcast skip sockets that are not ready to receive it.
func (n *Namespace) Volatile() Broadcast { return n.broadcast().Volatile() }

// FetchSockets returns the namespace's sockets; see Broadcast.FetchSockets.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.broadcast().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) { n.broadcast().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) { n.broadcast().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace; with close,
// their connections are closed too.
func (n *Namespace) DisconnectSockets(close bool) { n.broadcast().DisconnectSockets(close) }
