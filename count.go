package ferry

import "context"

// SocketCounter is implemented by cluster adapters that can count the
// sockets a BroadcastOptions selects on every server without describing
// each (see Broadcast.SocketCount). It is optional: without it, counting
// fetches the sockets with FetchSockets.
type SocketCounter interface {
	// CountSockets returns the number of sockets opts selects, on every
	// server (on this one only with opts.Local).
	CountSockets(ctx context.Context, opts BroadcastOptions) (int, error)
}

// SocketCount returns the number of selected sockets, on every server: of
// the namespace with no rooms selected, of a room with In(room), and on
// this server only with Local. It is what socket.io applications compute
// as (await io.in(room).fetchSockets()).length. On one server (the default
// adapter) it reads the rooms in memory and never fails; across servers
// it asks the adapter, which answers cheaply if it implements
// SocketCounter, and otherwise fetches the sockets.
func (b Broadcast) SocketCount(ctx context.Context) (int, error) {
	n := 0
	for _, nsp := range b.nsp.targets() {
		c, err := countSockets(ctx, nsp.adapter, b.opts)
		n += c
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// countSockets counts the sockets opts selects through a.
func countSockets(ctx context.Context, a Adapter, opts BroadcastOptions) (int, error) {
	switch a := a.(type) {
	case *MemoryAdapter:
		// Exactly the default adapter: one that embeds it for this
		// server's sockets reaches others too.
		return a.countLocal(opts), nil
	case SocketCounter:
		return a.CountSockets(ctx, opts)
	}
	socks, err := a.FetchSockets(ctx, opts)
	return len(socks), err
}

// countLocal returns the number of this server's sockets opts selects.
func (a *MemoryAdapter) countLocal(opts BroadcastOptions) int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if len(opts.Rooms) == 0 && len(opts.Except) == 0 {
		return len(a.members)
	}
	return len(a.matchLocked(opts))
}
