package ferry

import (
	"context"
	"slices"
	"sync"
)

// MemoryAdapter is the default Adapter: rooms in memory, broadcasts to the
// sockets of this server. Adapters for several servers embed it.
//
// As in socket.io, every socket is in a room named after its id. That room
// is kept implicitly, as the socket's entry in a map of members, so that a
// socket in no other room costs one map entry; a socket's set of other
// rooms exists only while it is in one.
type MemoryAdapter struct {
	nsp *Namespace

	mu      sync.RWMutex
	members map[string]*Socket             // guarded by mu: socket id -> socket, for sockets in their own room
	rooms   map[string]map[string]*Socket  // guarded by mu: room -> socket id -> socket; own rooms excluded
	sids    map[string]map[string]struct{} // guarded by mu: socket id -> rooms, own room excluded; no empty sets
}

// NewMemoryAdapter returns an in-memory adapter for nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{
		nsp:     nsp,
		members: make(map[string]*Socket),
		rooms:   make(map[string]map[string]*Socket),
		sids:    make(map[string]map[string]struct{}),
	}
}

// AddAll implements Adapter.
func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	sock := a.nsp.Socket(id)
	if sock == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
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

// Rooms returns every room with at least one socket of this server, the
// sockets' own rooms included.
func (a *MemoryAdapter) Rooms() []string {
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
	return out
}

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

// Broadcast implements Adapter.
func (a *MemoryAdapter) Broadcast(pkt *EncodedPacket, opts BroadcastOptions) {
	frames := pkt.enginePackets()
	for _, s := range a.match(opts) {
		s.conn.sendFrames(frames, opts.Volatile)
	}
}

// BroadcastWithAck implements Adapter.
func (a *MemoryAdapter) BroadcastWithAck(pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector) {
	frames := pkt.enginePackets()
	n := 0
	for _, s := range a.match(opts) {
		if !s.expectAck(pkt.Packet.ID, acks.Receive) {
			continue
		}
		if err := s.conn.sendFrames(frames, opts.Volatile); err != nil {
			s.dropAck(pkt.Packet.ID)
			continue
		}
		n++
	}
	acks.Expect(n)
}

// FetchSockets implements Adapter.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]*RemoteSocket, error) {
	socks := a.match(opts)
	out := make([]*RemoteSocket, 0, len(socks))
	for _, s := range socks {
		out = append(out, NewRemoteSocket(a.nsp, s.id, s.Handshake(), s.Rooms(), s.Data()))
	}
	return out, nil
}

// AddSockets implements Adapter.
func (a *MemoryAdapter) AddSockets(opts BroadcastOptions, rooms []string) {
	for _, s := range a.match(opts) {
		s.Join(rooms...)
	}
}

// DelSockets implements Adapter.
func (a *MemoryAdapter) DelSockets(opts BroadcastOptions, rooms []string) {
	for _, s := range a.match(opts) {
		for _, room := range rooms {
			s.Leave(room)
		}
	}
}

// DisconnectSockets implements Adapter.
func (a *MemoryAdapter) DisconnectSockets(opts BroadcastOptions, close bool) {
	for _, s := range a.match(opts) {
		s.Disconnect(close)
	}
}

// Close implements Adapter.
func (a *MemoryAdapter) Close() error { return nil }
