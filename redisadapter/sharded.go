package redisadapter

import (
	"context"
	"errors"
	"sync"

	"github.com/ferryio/ferry"
)

// sharded is the adapter of one namespace in the ClusterAdapter protocol,
// over Redis sharded pub/sub.
type sharded struct {
	cluster
	mainChannel     string // {prefix}#{nsp}#
	responseChannel string // {prefix}#{nsp}#{uid}#
	closeOnce       sync.Once

	roomMu     sync.Mutex
	subscribed map[string]struct{} // guarded by roomMu: rooms whose channel is subscribed
}

func newSharded(f *Factory, h *hub, nsp *ferry.Namespace) *sharded {
	a := &sharded{cluster: newCluster(f, h, nsp), subscribed: make(map[string]struct{})}
	a.tr = a
	a.mainChannel = f.prefix + "#" + nsp.Name() + "#"
	a.responseChannel = a.mainChannel + a.uid + "#"
	h.subscribe(subShard, a.onResponseChannel, a.responseChannel)
	h.subscribe(subShard, a.onMessageChannel, a.mainChannel)
	return a
}

func (a *sharded) roomChannel(room string) string { return a.mainChannel + room + "#" }

// dynamicRoom reports whether room gets a channel of its own.
func (a *sharded) dynamicRoom(room string) bool {
	switch a.f.mode {
	case Static:
		return false
	case DynamicPrivate:
		return true
	}
	return a.nsp.Socket(room) == nil // a public room
}

// AddAll implements ferry.Adapter, subscribing to the channels of rooms
// that appear on this server.
func (a *sharded) AddAll(id string, rooms []string) {
	if a.f.mode == Static {
		a.MemoryAdapter.AddAll(id, rooms)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	a.MemoryAdapter.AddAll(id, rooms)
	a.subscribeLocked(rooms)
}

// subscribeLocked subscribes to the channels of those of rooms that are on
// this server and get a channel, if not done yet. The caller holds roomMu.
func (a *sharded) subscribeLocked(rooms []string) {
	for _, room := range rooms {
		if _, ok := a.subscribed[room]; ok || !a.dynamicRoom(room) || !a.HasRoom(room) {
			continue
		}
		a.subscribed[room] = struct{}{}
		a.h.subscribe(subShard, a.onMessageChannel, a.roomChannel(room))
	}
}

// RestoreSession implements ferry.RecoveryAdapter, in this server's memory
// (as ferry.MemoryAdapter does), subscribing to the channels of the rooms
// the restored socket is put back in.
func (a *sharded) RestoreSession(ctx context.Context, pid, offset string, admit func(*ferry.SessionState, []*ferry.EncodedPacket) bool) (bool, error) {
	var rooms []string
	ok, err := a.MemoryAdapter.RestoreSession(ctx, pid, offset, func(s *ferry.SessionState, missed []*ferry.EncodedPacket) bool {
		if !admit(s, missed) {
			return false
		}
		rooms = s.Rooms
		return true
	})
	if rooms != nil && a.f.mode != Static {
		a.roomMu.Lock()
		a.subscribeLocked(rooms)
		a.roomMu.Unlock()
	}
	return ok, err
}

// Del implements ferry.Adapter, unsubscribing from a room's channel once
// the room is gone from this server.
func (a *sharded) Del(id, room string) {
	if a.f.mode == Static {
		a.MemoryAdapter.Del(id, room)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	a.MemoryAdapter.Del(id, room)
	a.dropRoomLocked(room)
}

// DelAll implements ferry.Adapter.
func (a *sharded) DelAll(id string) {
	if a.f.mode == Static {
		a.MemoryAdapter.DelAll(id)
		return
	}
	a.roomMu.Lock()
	defer a.roomMu.Unlock()
	rooms := a.SocketRooms(id)
	a.MemoryAdapter.DelAll(id)
	for _, room := range rooms {
		a.dropRoomLocked(room)
	}
}

func (a *sharded) dropRoomLocked(room string) {
	if _, ok := a.subscribed[room]; !ok || a.HasRoom(room) {
		return
	}
	delete(a.subscribed, room)
	a.h.unsubscribe(subShard, a.roomChannel(room))
}

// send implements transport: on the main channel, which every server
// reads.
func (a *sharded) send(typ int, data obj, done func(error)) error {
	b, err := a.encode(typ, data)
	if err != nil {
		return err
	}
	a.h.publish(a.mainChannel, b, done)
	return nil
}

// respond implements transport: on server uid's response channel.
func (a *sharded) respond(uid string, typ int, data obj) {
	b, err := a.encode(typ, data)
	if err != nil {
		a.f.logger.Warn("redisadapter: encoding an answer", "namespace", a.name, "err", err)
		return
	}
	a.h.publish(a.mainChannel+uid+"#", b, nil)
}

// encode writes {type, data, uid, nsp}: in msgpack when the message may
// carry binary data and does, else in JSON, as ClusterAdapter decides.
func (a *sharded) encode(typ int, data obj) ([]byte, error) {
	msg := obj{{"type", typ}, {"data", data}, {"uid", a.uid}, {"nsp", a.name}}
	switch typ {
	case msgBroadcast, msgBroadcastAck, msgFetchSocketsResp, msgServerSideEmit, msgServerSideEmitResp:
		b, err := encodeMsgpack(msg)
		if err != nil {
			return nil, err
		}
		if hasBinary(b) {
			return b, nil
		}
	}
	return encodeJSON(msg)
}

// Broadcast implements ferry.Adapter: it delivers to this server's
// sockets, then queues the publish.
func (a *sharded) Broadcast(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) error {
	var encErr error
	var msg []byte
	var channel string
	if !localOnly(opts) {
		data := obj{{"packet", obj{{"type", 2}, {"data", argsOf(pkt)}}}, {"opts", encodeOptions(opts, broadcastFlags(opts))}}
		msg, encErr = a.encode(msgBroadcast, data)
		channel = a.mainChannel
		if len(opts.Rooms) == 1 && a.f.mode != Static &&
			(a.f.mode == DynamicPrivate || !looksLikeSocketID(opts.Rooms[0])) {
			channel = a.roomChannel(opts.Rooms[0])
		}
	}
	err := a.MemoryAdapter.Broadcast(ctx, pkt, opts)
	if encErr != nil {
		return errors.Join(err, wrapErr("broadcast", encErr))
	}
	if msg != nil {
		a.h.publish(channel, msg, nil)
	}
	return err
}

// looksLikeSocketID reports whether room may be a socket's own room, as
// the sharded adapter guesses: 20 characters.
func looksLikeSocketID(room string) bool { return len(room) == 20 }

// count implements transport: the subscribers of the main channel.
func (a *sharded) count(ctx context.Context) (int, error) {
	return a.f.serverCount(ctx, a.mainChannel)
}

// Close implements ferry.Adapter.
func (a *sharded) Close() error {
	a.closeOnce.Do(func() {
		a.roomMu.Lock()
		channels := []string{a.mainChannel, a.responseChannel}
		for room := range a.subscribed {
			channels = append(channels, a.roomChannel(room))
		}
		a.subscribed = make(map[string]struct{})
		a.roomMu.Unlock()
		a.h.unsubscribe(subShard, channels...)
		a.closeRequests()
		a.f.release(a.h)
	})
	return nil
}

// onResponseChannel handles a message of this server's response channel.
func (a *sharded) onResponseChannel(_ string, payload []byte) {
	typ, data, ok := a.decode(payload, false)
	if ok {
		a.onResponse(typ, data)
	}
}

// onMessageChannel handles a message of the main channel or of a room's.
func (a *sharded) onMessageChannel(_ string, payload []byte) {
	typ, data, ok := a.decode(payload, true)
	if !ok {
		return
	}
	switch typ {
	case msgFetchSocketsResp, msgServerSideEmitResp, msgBroadcastCount, msgBroadcastAck:
		a.onResponse(typ, data)
	default:
		a.onMessage(typ, data)
	}
}
