package ferry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Adapter keeps a namespace's rooms and carries what the namespace sends
// to sockets selected by room: broadcasts, acknowledged broadcasts, room
// changes and disconnects, queries over its sockets and rooms, and
// server-side events. The default, NewMemoryAdapter, serves one server. An
// adapter for several servers (over Redis, say) embeds a *MemoryAdapter
// for what concerns this server's sockets, and forwards to the other
// servers what is not Local.
//
// The room methods (AddAll, Del, DelAll, SocketRooms) concern this server's
// sockets only: they never reach other servers and never fail. The other
// methods may reach other servers: they take a context bounding that, and
// return an error when it fails (a publish refused, a timeout). They must
// never make delivery to this server's sockets wait on the network, nor
// fail it: an error means other servers may have missed the operation.
//
// Lifecycle: Options.Adapter creates the adapter when its namespace is
// created, outside the server's locks, so a constructor may start
// subscriptions; Close releases it when the namespace is removed or the
// server closes. Every method must be safe for concurrent use.
type Adapter interface {
	// AddAll adds this server's socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes this server's socket id from room.
	Del(id string, room string)
	// DelAll removes this server's socket id from every room.
	DelAll(id string)
	// SocketRooms returns the rooms this server's socket id is in.
	SocketRooms(id string) []string

	// Broadcast delivers pkt to the sockets opts selects, on every server.
	Broadcast(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions) error
	// BroadcastWithAck delivers pkt to the sockets opts selects, on every
	// server, each asked for an ack. Before it returns it calls
	// acks.ExpectParts with the number of parts (servers) that will report
	// to acks, each part once through acks.Reached and then once per
	// socket reached through acks.Ack or acks.Lost. A server that received
	// the broadcast assigns the ack id itself.
	BroadcastWithAck(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector) error
	// FetchSockets describes the sockets opts selects, on every server.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the sockets opts selects join rooms, on every server.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the sockets opts selects leave rooms, on every
	// server.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the sockets opts selects, on every
	// server; with close, their connections too.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error
	// ServerSideEmit sends an event (args[0] is its name) to the
	// namespace's server-side handlers on every other server. With acks
	// non-nil it asks each for an ack: it calls acks.ExpectParts with the
	// number of servers asked, and each answer goes to acks.Ack (with
	// acks.Reached(1) first), or acks.Lost for a server that cannot answer.
	ServerSideEmit(ctx context.Context, args []any, acks *AckCollector) error
	// Rooms returns every room that has a socket of the namespace on any
	// server, the sockets' own rooms included.
	Rooms(ctx context.Context) ([]string, error)
	// ServerCount returns the number of servers sharing the namespace,
	// this one included.
	ServerCount(ctx context.Context) (int, error)
	// Close releases the adapter.
	Close() error
}

// BroadcastOptions is what an Adapter needs to select a broadcast's
// targets.
type BroadcastOptions struct {
	// Rooms selects sockets in any of these rooms; empty selects all.
	Rooms []string
	// Except leaves out sockets in any of these rooms.
	Except []string
	// Local restricts the operation to this server.
	Local bool
	// Volatile skips sockets that are not ready to receive.
	Volatile bool
	// NoCompress sends the packet without compression (socket.io's
	// compress(false) flag): see Broadcast.Compress.
	NoCompress bool
}

// AckReceiver receives what one part of an acknowledged broadcast brings:
// the number of clients the packet was sent to, then an ack, or the news
// that none will come, for each of them. *AckCollector implements it for a
// whole broadcast; an adapter relaying another server's broadcast
// implements it to send each report back to that server.
type AckReceiver interface {
	// Reached reports that the packet was sent to n clients (n may be 0).
	// It is called once, before any Ack or Lost.
	Reached(n int)
	// Ack delivers one client's ack.
	Ack(args Args)
	// Lost reports that a client the packet was sent to will not ack: it
	// disconnected first.
	Lost()
}

// AckCollector gathers the acks of one acknowledged broadcast or
// server-side emit, from every part of it (each server it reached). It is
// complete once every part announced with ExpectParts has reported with
// Reached, and every client reached has acked or been lost. Its methods
// are safe for concurrent use.
type AckCollector struct {
	mu      sync.Mutex
	parts   int    // guarded by mu: parts announced
	reports int    // guarded by mu: parts that called Reached
	reached int    // guarded by mu: clients the parts reached
	lost    int    // guarded by mu: clients that will not ack
	acks    []Args // guarded by mu
	sealed  bool   // guarded by mu: no more parts will be announced
	closed  bool   // guarded by mu: done is closed
	done    chan struct{}
	// then, if set before any part is announced, runs once the collector
	// is complete, outside mu (see Broadcast.EmitWithAckFunc).
	then func()
}

func newAckCollector() *AckCollector { return &AckCollector{done: make(chan struct{})} }

// ExpectParts announces n more parts that will each report to the
// collector.
func (c *AckCollector) ExpectParts(n int) {
	c.mu.Lock()
	c.parts += n
	c.mu.Unlock()
}

// Reached implements AckReceiver: one part sent the packet to n clients.
func (c *AckCollector) Reached(n int) {
	c.mu.Lock()
	c.reports++
	c.reached += n
	then := c.checkLocked()
	c.mu.Unlock()
	if then != nil {
		then()
	}
}

// Ack implements AckReceiver.
func (c *AckCollector) Ack(a Args) {
	c.mu.Lock()
	c.acks = append(c.acks, a)
	then := c.checkLocked()
	c.mu.Unlock()
	if then != nil {
		then()
	}
}

// Lost implements AckReceiver.
func (c *AckCollector) Lost() {
	c.mu.Lock()
	c.lost++
	then := c.checkLocked()
	c.mu.Unlock()
	if then != nil {
		then()
	}
}

// seal records that every part has been announced.
func (c *AckCollector) seal() {
	c.mu.Lock()
	c.sealed = true
	then := c.checkLocked()
	c.mu.Unlock()
	if then != nil {
		then()
	}
}

// checkLocked closes done once the collector is complete, and then
// returns c.then, for the caller to run after releasing mu.
func (c *AckCollector) checkLocked() (then func()) {
	if !c.closed && c.sealed && c.reports >= c.parts && len(c.acks)+c.lost >= c.reached {
		c.closed = true
		close(c.done)
		return c.then
	}
	return nil
}

// wait returns the acks once the collector is complete, or those received
// so far and an error wrapping ctx's once ctx is done.
func (c *AckCollector) wait(ctx context.Context, what string) ([]Args, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
	}
	return c.result(ctx, what)
}

// result returns the acks received so far, with an error wrapping ctx's
// unless the collector is complete.
func (c *AckCollector) result(ctx context.Context, what string) ([]Args, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return slices.Clone(c.acks), nil
	}
	missing := c.reached - len(c.acks) - c.lost
	if unreported := c.parts - c.reports; unreported > 0 {
		return slices.Clone(c.acks), fmt.Errorf("ferry: %s: %d acks, %d servers not heard from: %w",
			what, len(c.acks), unreported, ctx.Err())
	}
	return slices.Clone(c.acks), fmt.Errorf("ferry: %s: %d of %d acks: %w", what, len(c.acks), len(c.acks)+missing, ctx.Err())
}

// RemoteSocket describes a socket found by FetchSockets, on this server or
// another. Its methods act through the adapter, so they work wherever the
// socket is.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	// Data is the value the socket stored with SetData; for a socket of
	// another server, as that server's adapter carried it (typically
	// decoded into maps, slices and plain values).
	Data any

	nsp     *Namespace
	timeout time.Duration // see Timeout
}

// NewRemoteSocket returns a RemoteSocket of nsp, for adapters that fetch
// sockets from other servers.
func NewRemoteSocket(nsp *Namespace, id string, hs *Handshake, rooms []string, data any) *RemoteSocket {
	return &RemoteSocket{ID: id, Handshake: hs, Rooms: rooms, Data: data, nsp: nsp}
}

func (r *RemoteSocket) only() Broadcast { return r.nsp.broadcast().To(r.ID).Timeout(r.timeout) }

// Timeout returns a copy of r whose EmitWithAck and EmitWithAckFunc stop
// waiting after d, as a context deadline would: a convenience for passing
// them context.WithTimeout(ctx, d).
func (r *RemoteSocket) Timeout(d time.Duration) *RemoteSocket {
	c := *r
	c.timeout = d
	return &c
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.only().Emit(event, args...) }

// EmitWithAck sends an event to the socket and waits for its ack, until
// ctx is done or the Timeout passes. It returns ctx's error (wrapped) if
// the ack has not come by then, and ErrDisconnected if the socket
// disconnects first (on this server) or was gone.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	acks, err := r.only().EmitWithAck(ctx, event, args...)
	return firstAck(acks, err)
}

// EmitWithAckFunc sends an event to the socket and returns at once; f
// receives what EmitWithAck would return, exactly once, without a
// goroutine waiting for it. It runs as Broadcast.EmitWithAckFunc's
// callback does: before EmitWithAckFunc returns if the socket is gone.
func (r *RemoteSocket) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(reply Args, err error)) error {
	return r.only().EmitWithAckFunc(ctx, event, args, func(acks []Args, err error) { f(firstAck(acks, err)) })
}

// firstAck returns a one-socket broadcast's ack, or why there is none.
func firstAck(acks []Args, err error) (Args, error) {
	if len(acks) > 0 {
		return acks[0], nil
	}
	if err == nil {
		err = ErrDisconnected
	}
	return nil, err
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.only().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.only().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket; with close, its connection too.
func (r *RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.only().DisconnectSockets(ctx, close)
}
