package ferry

import (
	"context"
	"slices"
	"sync"

	"github.com/ferryio/ferry/transport"
)

// MemoryAdapter is the default Adapter: rooms in memory, and delivery to
// the sockets of this server. Adapters for several servers embed it, for
// what concerns this server's sockets: its Broadcast, BroadcastWithAck and
// the other methods act on this server only, and never fail.
//
// As in socket.io, every socket is in a room named after its id. That room
// is kept implicitly, as the socket's entry in a map of members, so that a
// socket in no other room costs one map entry; a socket's set of other
// rooms exists only while it is in one.
type MemoryAdapter struct {
	nsp *Namespace
	rec *recoveryLog // with Options.ConnectionStateRecovery, else nil

	mu      sync.RWMutex
	members map[string]*Socket             // guarded by mu: socket id -> socket, for sockets in their own room
	rooms   map[string]map[string]*Socket  // guarded by mu: room -> socket id -> socket; own rooms excluded
	sids    map[string]map[string]struct{} // guarded by mu: socket id -> rooms, own room excluded; no empty sets
}

// NewMemoryAdapter returns an in-memory adapter for nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	a := &MemoryAdapter{
		nsp:     nsp,
		members: make(map[string]*Socket),
		rooms:   make(map[string]map[string]*Socket),
		sids:    make(map[string]map[string]struct{}),
	}
	if opts := nsp.server.recovery; opts != nil {
		a.rec = newRecoveryLog(opts)
	}
	return a
}

// Namespace returns the adapter's namespace.
func (a *MemoryAdapter) Namespace() *Namespace { return a.nsp }

// AddAll implements Adapter.
func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addAllLocked(id, rooms)
}

// joinOffset adds socket id to rooms and returns, for recovery, the offset
// of the newest event broadcast before it joined: any event after it that
// selects those rooms reaches the socket.
func (a *MemoryAdapter) joinOffset(id string, rooms []string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.addAllLocked(id, rooms)
	if a.rec == nil {
		return ""
	}
	return a.rec.head()
}

func (a *MemoryAdapter) addAllLocked(id string, rooms []string) {
	sock := a.nsp.Socket(id)
	if sock == nil {
		return
	}
	for _, room := range rooms {
		if room == id {
			a.members[id] = sock
			continue
		}
		mine := a.sids[id]
		if mine == nil {
			mine = make(map[string]struct{}, 1)
			a.sids[id] = mine
		}
		mine[room] = struct{}{}
		members := a.rooms[room]
		if members == nil {
			members = make(map[string]*Socket, 1)
			a.rooms[room] = members
		}
		members[id] = sock
	}
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(id string, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if room == id {
		delete(a.members, id)
		return
	}
	if mine := a.sids[id]; mine != nil {
		delete(mine, room)
		if len(mine) == 0 {
			delete(a.sids, id)
		}
	}
	a.leaveLocked(id, room)
}

// leaveLocked removes socket id from the members of room, forgetting the
// room once empty.
func (a *MemoryAdapter) leaveLocked(id, room string) {
	if members := a.rooms[room]; members != nil {
		delete(members, id)
		if len(members) == 0 {
			delete(a.rooms, room)
		}
	}
}

// DelAll implements Adapter.
func (a *MemoryAdapter) DelAll(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.members, id)
	for room := range a.sids[id] {
		a.leaveLocked(id, room)
	}
	delete(a.sids, id)
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.sids[id])+1)
	if _, ok := a.members[id]; ok {
		out = append(out, id)
	}
	for room := range a.sids[id] {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// Rooms implements Adapter: the rooms with at least one socket of this
// server, the sockets' own rooms included, sorted.
func (a *MemoryAdapter) Rooms(context.Context) ([]string, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms)+len(a.members))
	for room := range a.rooms {
		out = append(out, room)
	}
	for id := range a.members {
		if _, named := a.rooms[id]; !named {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// HasRoom reports whether room has a socket of this server. Cluster
// adapters use it to drop, cheaply, messages for rooms they do not serve.
func (a *MemoryAdapter) HasRoom(room string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if _, ok := a.rooms[room]; ok {
		return true
	}
	_, ok := a.members[room]
	return ok
}

// ServerCount implements Adapter: 1.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// inLocked reports whether socket id is in room.
func (a *MemoryAdapter) inLocked(id, room string) bool {
	if room == id {
		_, ok := a.members[id]
		return ok
	}
	_, ok := a.rooms[room][id]
	return ok
}

// match returns the local sockets opts selects, each once. Delivery happens
// after the lock is released: sending may close a session, whose sockets
// then leave their rooms.
func (a *MemoryAdapter) match(opts BroadcastOptions) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.matchLocked(opts)
}

func (a *MemoryAdapter) matchLocked(opts BroadcastOptions) []*Socket {
	excluded := func(id string) bool {
		for _, room := range opts.Except {
			if a.inLocked(id, room) {
				return true
			}
		}
		return false
	}
	var out []*Socket
	if len(opts.Rooms) == 0 {
		// Every socket that is in its own room.
		out = make([]*Socket, 0, len(a.members))
		for id, s := range a.members {
			if !excluded(id) {
				out = append(out, s)
			}
		}
		return out
	}
	var seen map[string]struct{}
	if len(opts.Rooms) > 1 {
		seen = make(map[string]struct{})
	}
	add := func(id string, s *Socket) {
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		if !excluded(id) {
			out = append(out, s)
		}
	}
	for _, room := range opts.Rooms {
		// The room may be a socket's own room, and also a room other
		// sockets joined by that name.
		if s := a.members[room]; s != nil {
			add(room, s)
		}
		for id, s := range a.rooms[room] {
			add(id, s)
		}
	}
	return out
}

// Broadcast implements Adapter: it delivers pkt to this server's sockets
// that opts selects. With connection state recovery on, a packet that may
// be replayed (not volatile) and has no offset yet is given one and kept
// for replay; one that a cluster adapter gave an offset is delivered with
// it.
func (a *MemoryAdapter) Broadcast(_ context.Context, pkt *EncodedPacket, opts BroadcastOptions) error {
	srv := a.nsp.server
	var frames []transport.Packet
	var targets []*Socket
	var err error
	if a.rec != nil && !opts.Volatile && pkt.Offset == "" {
		// Kept and matched under the read lock, which a recovering socket
		// joining its rooms takes for writing: each event is either among
		// those it missed or delivered to it, not both.
		a.mu.RLock()
		frames, err = a.rec.append(pkt, opts, func() ([]transport.Packet, error) {
			return pkt.encodeFor(srv, a.nsp.name, 0, false)
		})
		if err == nil {
			targets = a.matchLocked(opts)
		}
		a.mu.RUnlock()
	} else {
		frames, err = pkt.encodeFor(srv, a.nsp.name, 0, false)
		if err == nil {
			targets = a.match(opts)
		}
	}
	if err != nil {
		return err
	}
	if opts.NoCompress {
		frames = withoutCompression(frames)
	}
	// Counted in the server's burst: while any broadcast is being handed
	// out, a WebSocket writer holding an earlier one waits for it, so that
	// consecutive broadcasts leave in one write per connection.
	srv.burst.Begin()
	defer srv.burst.End()
	alias := ""
	if pkt.Offset == "" && a.rec != nil {
		alias = trailingString(pkt.Packet.Args)
	}
	for _, s := range targets {
		s.notifyOutgoing(pkt.Packet.Args, pkt.Offset)
		s.sendOffset(frames, opts.Volatile, pkt.Offset, alias)
	}
	return nil
}

// PersistSession implements RecoveryAdapter, in memory.
func (a *MemoryAdapter) PersistSession(_ context.Context, s *SessionState) error {
	if a.rec != nil {
		a.rec.persist(s)
	}
	return nil
}

// RestoreSession implements RecoveryAdapter, in memory.
func (a *MemoryAdapter) RestoreSession(_ context.Context, pid, offset string, admit func(*SessionState, []*EncodedPacket) bool) (bool, error) {
	if a.rec == nil {
		return false, nil
	}
	// Under the write lock no broadcast is kept or matched: those kept
	// before are among the missed ones, those after reach the socket.
	a.mu.Lock()
	defer a.mu.Unlock()
	s, missed := a.rec.take(pid, offset)
	if s == nil {
		return false, nil
	}
	if admit(s, missed) {
		a.addAllLocked(s.SID, s.Rooms)
	}
	return true, nil
}

// Offset implements RecoveryAdapter: the offset of the newest event kept.
func (a *MemoryAdapter) Offset() string {
	if a.rec == nil {
		return ""
	}
	return a.rec.head()
}

// BroadcastWithAck implements Adapter: this server is one part of the
// broadcast.
func (a *MemoryAdapter) BroadcastWithAck(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector) error {
	acks.ExpectParts(1)
	return a.DeliverWithAck(ctx, pkt, opts, acks)
}

// DeliverWithAck delivers pkt to this server's sockets that opts selects,
// each asked for an ack under an ack id this server assigns, and reports to
// r: the number of sockets reached (once, even if 0), then each ack, or
// Lost for each socket that disconnects before it acks. A socket a volatile
// packet skipped is not counted. Once ctx is done, acks still awaited are
// forgotten, and reported no more. Cluster adapters call it for a
// broadcast that another server asked this one to deliver.
func (a *MemoryAdapter) DeliverWithAck(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions, r AckReceiver) error {
	srv := a.nsp.server
	id := a.nsp.ackIDs.Add(1) - 1
	frames, err := pkt.encodeFor(srv, a.nsp.name, id, true)
	if err != nil {
		r.Reached(0)
		return err
	}
	if opts.NoCompress {
		frames = withoutCompression(frames)
	}
	alias := ""
	if a.rec != nil {
		alias = trailingString(pkt.Packet.Args)
	}
	d := &ackDelivery{id: id, r: r}
	srv.burst.Begin()
	targets := a.match(opts)
	for _, s := range targets {
		s.notifyOutgoing(pkt.Packet.Args, "") // before d.mu: the handlers may end a socket
	}
	d.mu.Lock() // acks that arrive while targets are added wait for Reached
	for _, s := range targets {
		if !s.expectAck(id, d.receive) {
			continue // disconnected meanwhile
		}
		if err := s.sendOffset(frames, opts.Volatile, "", alias); err != nil {
			s.dropAck(id)
			continue
		}
		d.targets = append(d.targets, s)
	}
	d.pending = len(d.targets)
	srv.burst.End()
	r.Reached(d.pending)
	if d.pending > 0 {
		d.stop = context.AfterFunc(ctx, d.forget)
	}
	d.mu.Unlock()
	return nil
}

// ackDelivery is one server's part of an acknowledged broadcast: the
// sockets it was sent to, and how many have yet to answer.
type ackDelivery struct {
	id      uint64
	r       AckReceiver
	mu      sync.Mutex
	targets []*Socket   // guarded by mu: the sockets sent the packet
	pending int         // guarded by mu: sockets yet to ack or be lost
	stop    func() bool // stops the forgetting at ctx's end
}

// receive is each target socket's ack callback.
func (d *ackDelivery) receive(args Args, ok bool) {
	d.mu.Lock()
	if d.pending == 0 {
		d.mu.Unlock()
		return // forgotten
	}
	d.pending--
	var stop func() bool
	if d.pending == 0 {
		stop, d.targets = d.stop, nil
	}
	d.mu.Unlock()
	if ok {
		d.r.Ack(args)
	} else {
		d.r.Lost()
	}
	if stop != nil {
		stop()
	}
}

// forget drops the acks still awaited: the broadcast's context is done.
func (d *ackDelivery) forget() {
	d.mu.Lock()
	targets := d.targets
	d.pending = 0
	d.targets = nil
	d.mu.Unlock()
	for _, s := range targets {
		s.dropAck(d.id)
	}
}

// FetchSockets implements Adapter, for this server's sockets.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]*RemoteSocket, error) {
	socks := a.match(opts)
	out := make([]*RemoteSocket, 0, len(socks))
	for _, s := range socks {
		out = append(out, NewRemoteSocket(a.nsp, s.id, s.Handshake(), s.Rooms(), s.Data()))
	}
	return out, nil
}

// AddSockets implements Adapter, for this server's sockets.
func (a *MemoryAdapter) AddSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, s := range a.match(opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets implements Adapter, for this server's sockets.
func (a *MemoryAdapter) DelSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, s := range a.match(opts) {
		for _, room := range rooms {
			s.Leave(room)
		}
	}
	return nil
}

// DisconnectSockets implements Adapter, for this server's sockets.
func (a *MemoryAdapter) DisconnectSockets(_ context.Context, opts BroadcastOptions, close bool) error {
	for _, s := range a.match(opts) {
		s.Disconnect(close)
	}
	return nil
}

// ServerSideEmit implements Adapter: there is no other server to reach, so
// it does nothing, and asks no part for an ack.
func (a *MemoryAdapter) ServerSideEmit(context.Context, []any, *AckCollector) error { return nil }

// Close implements Adapter.
func (a *MemoryAdapter) Close() error {
	if a.rec != nil {
		a.rec.stop()
	}
	return nil
}
