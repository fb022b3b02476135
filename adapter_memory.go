package ferry

import (
	"context"
	"slices"
	"sync"
)

// MemoryAdapter is the default Adapter: rooms in memory, broadcasts to the
// sockets of this server. Adapters for several servers embed it.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]*Socket  // guarded by mu: room -> socket id -> socket
	sids  map[string]map[string]struct{} // guarded by mu: socket id -> rooms
}

// NewMemoryAdapter returns an in-memory adapter for nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	return &MemoryAdapter{
		nsp:   nsp,
		rooms: make(map[string]map[string]*Socket),
		sids:  make(map[string]map[string]struct{}),
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
	mine := a.sids[id]
	if mine == nil {
		mine = make(map[string]struct{}, len(rooms))
		a.sids[id] = mine
	}
	for _, room := range rooms {
		mine[room] = struct{}{}
		members := a.rooms[room]
		if members == nil {
			members = make(map[string]*Socket)
			a.rooms[room] = members
		}
		members[id] = sock
	}
}

// Del implements Adapter.
func (a *MemoryAdapter) Del(id string, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delLocked(id, room)
}

func (a *MemoryAdapter) delLocked(id, room string) {
	if mine := a.sids[id]; mine != nil {
		delete(mine, room)
	}
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
	for room := range a.sids[id] {
		a.delLocked(id, room)
	}
	delete(a.sids, id)
}

// SocketRooms implements Adapter.
func (a *MemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.sids[id]))
	for room := range a.sids[id] {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// Rooms returns every room with at least one socket of this server.
func (a *MemoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms))
	for room := range a.rooms {
		out = append(out, room)
	}
	slices.Sort(out)
	return out
}

// match returns the local sockets opts selects, each once. Delivery happens
// after the lock is released: sending may close a session, whose sockets
// then leave their rooms.
func (a *MemoryAdapter) match(opts BroadcastOptions) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id string) bool {
		for _, room := range opts.Except {
			if _, ok := a.rooms[room][id]; ok {
				return true
			}
		}
		return false
	}
	var out []*Socket
	if len(opts.Rooms) == 0 {
		out = make([]*Socket, 0, len(a.sids))
		for id := range a.sids {
			// Every socket is in its own room.
			if s := a.rooms[id][id]; s != nil && !excluded(id) {
				out = append(out, s)
			}
		}
		return out
	}
	var seen map[string]struct{}
	if len(opts.Rooms) > 1 {
		seen = make(map[string]struct{})
	}
	for _, room := range opts.Rooms {
		for id, s := range a.rooms[room] {
			if seen != nil {
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
			}
			if !excluded(id) {
				out = append(out, s)
			}
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
		out = append(out, NewRemoteSocket(a.nsp, s.id, s.handshake, s.Rooms(), s.Data()))
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
