package redisadapter

import (
	"context"
	"errors"
	"sync"

	"github.com/ferryio/ferry"
)

// Message types of socket.io-adapter's ClusterAdapter, which the sharded
// adapter speaks (and the Redis Streams adapter too).
const (
	msgBroadcast          = 3
	msgSocketsJoin        = 4
	msgSocketsLeave       = 5
	msgDisconnectSockets  = 6
	msgFetchSockets       = 7
	msgFetchSocketsResp   = 8
	msgServerSideEmit     = 9
	msgServerSideEmitResp = 10
	msgBroadcastCount     = 11
	msgBroadcastAck       = 12
)

// sharded is the adapter of one namespace in the ClusterAdapter protocol,
// over Redis sharded pub/sub.
type sharded struct {
	core
	mainChannel     string // {prefix}#{nsp}#
	responseChannel string // {prefix}#{nsp}#{uid}#
	closeOnce       sync.Once

	roomMu     sync.Mutex
	subscribed map[string]struct{} // guarded by roomMu: rooms whose channel is subscribed
}

func newSharded(f *Factory, h *hub, nsp *ferry.Namespace) *sharded {
	a := &sharded{core: newCore(f, h, nsp, hexID()), subscribed: make(map[string]struct{})}
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
	for _, room := range rooms {
		if _, ok := a.subscribed[room]; ok || !a.dynamicRoom(room) || !a.HasRoom(room) {
			continue
		}
		a.subscribed[room] = struct{}{}
		a.h.subscribe(subShard, a.onMessageChannel, a.roomChannel(room))
	}
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

// publish sends a message of type typ to every server: on the main
// channel, or on a room's channel for a broadcast to one room that has one.
func (a *sharded) publish(typ int, data obj, channel string, done func(error)) error {
	b, err := a.encode(typ, data)
	if err != nil {
		return err
	}
	if channel == "" {
		channel = a.mainChannel
	}
	a.h.publish(channel, b, done)
	return nil
}

// respond sends a response to server uid, on its response channel.
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

// BroadcastWithAck implements ferry.Adapter. It always goes on the main
// channel, which every server counted reads.
func (a *sharded) BroadcastWithAck(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions, acks *ferry.AckCollector) error {
	acks.ExpectParts(1)
	localErr := a.MemoryAdapter.DeliverWithAck(ctx, pkt, opts, acks)
	if localOnly(opts) {
		return localErr
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return errors.Join(localErr, err)
	}
	id := hexID()
	flags := append(broadcastFlags(opts), kv{"timeout", a.ackTimeout(ctx)})
	b, err := a.encode(msgBroadcast, obj{
		{"packet", obj{{"type", 2}, {"data", argsOf(pkt)}}},
		{"requestId", id},
		{"opts", encodeOptions(opts, flags)},
	})
	if err != nil {
		return errors.Join(localErr, wrapErr("broadcast with ack", err))
	}
	if _, err := a.startAck(ctx, id, n-1, acks); err != nil {
		return errors.Join(localErr, err)
	}
	a.h.publish(a.mainChannel, b, func(err error) {
		if err != nil {
			a.endAck(id)
		}
	})
	return localErr
}

// FetchSockets implements ferry.Adapter.
func (a *sharded) FetchSockets(ctx context.Context, opts ferry.BroadcastOptions) ([]*ferry.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if localOnly(opts) {
		return local, nil
	}
	remote, err := a.fetchRemote(ctx, opts, &request{})
	return append(local, remote.sockets...), err
}

// fetchRemote asks the other servers for their sockets that opts selects,
// gathering them in r.
func (a *sharded) fetchRemote(ctx context.Context, opts ferry.BroadcastOptions, r *request) (*request, error) {
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return r, err
	}
	id := hexID()
	r.expected = n - 1
	if err := a.register(id, r); err != nil {
		return r, err
	}
	done, published := publishResult()
	if err := a.publish(msgFetchSockets, obj{{"opts", encodeOptions(opts, obj{})}, {"requestId", id}}, "", done); err != nil {
		a.forget(id)
		return r, wrapErr("fetchSockets", err)
	}
	err = a.wait(ctx, id, r, published, "fetchSockets")
	r.mu.Lock()
	defer r.mu.Unlock()
	return r, err
}

// Rooms implements ferry.Adapter. The protocol has no request for rooms:
// the other servers' rooms are those of their sockets, fetched.
func (a *sharded) Rooms(ctx context.Context) ([]string, error) {
	local, _ := a.MemoryAdapter.Rooms(ctx)
	all := make(map[string]struct{})
	for _, room := range local {
		all[room] = struct{}{}
	}
	r, err := a.fetchRemote(ctx, ferry.BroadcastOptions{}, &request{})
	r.mu.Lock()
	for _, s := range r.sockets {
		for _, room := range s.Rooms {
			all[room] = struct{}{}
		}
	}
	r.mu.Unlock()
	return sortedKeys(all), err
}

// AddSockets implements ferry.Adapter: it applies locally, then publishes
// and waits for the publish, until ctx ends.
func (a *sharded) AddSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	return a.publishAndWait(ctx, opts, msgSocketsJoin, obj{{"opts", encodeOptions(opts, obj{})}, {"rooms", stringList(rooms)}}, "socketsJoin")
}

// DelSockets implements ferry.Adapter.
func (a *sharded) DelSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	return a.publishAndWait(ctx, opts, msgSocketsLeave, obj{{"opts", encodeOptions(opts, obj{})}, {"rooms", stringList(rooms)}}, "socketsLeave")
}

// DisconnectSockets implements ferry.Adapter.
func (a *sharded) DisconnectSockets(ctx context.Context, opts ferry.BroadcastOptions, close bool) error {
	a.MemoryAdapter.DisconnectSockets(ctx, opts, close)
	return a.publishAndWait(ctx, opts, msgDisconnectSockets, obj{{"opts", encodeOptions(opts, obj{})}, {"close", close}}, "disconnectSockets")
}

func (a *sharded) publishAndWait(ctx context.Context, opts ferry.BroadcastOptions, typ int, data obj, what string) error {
	if localOnly(opts) {
		return nil
	}
	done, published := publishResult()
	if err := a.publish(typ, data, "", done); err != nil {
		return wrapErr(what, err)
	}
	return awaitPublish(ctx, published, what)
}

// ServerSideEmit implements ferry.Adapter, as the classic adapter's.
func (a *sharded) ServerSideEmit(ctx context.Context, args []any, acks *ferry.AckCollector) error {
	if acks == nil {
		done, published := publishResult()
		if err := a.publish(msgServerSideEmit, obj{{"packet", values(args)}}, "", done); err != nil {
			return wrapErr("serverSideEmit", err)
		}
		return awaitPublish(ctx, published, "serverSideEmit")
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return wrapErr("serverSideEmit", err)
	}
	if n <= 1 {
		return nil
	}
	id := hexID()
	r := &request{expected: n - 1, acks: acks}
	if err := a.register(id, r); err != nil {
		return err
	}
	acks.ExpectParts(n - 1)
	done, published := publishResult()
	if err := a.publish(msgServerSideEmit, obj{{"requestId", id}, {"packet", values(args)}}, "", done); err != nil {
		a.forget(id)
		endServerSide(r)
		return wrapErr("serverSideEmit", err)
	}
	err = a.wait(ctx, id, r, published, "serverSideEmit")
	endServerSide(r)
	return err
}

// ServerCount implements ferry.Adapter: the subscribers of the main
// channel.
func (a *sharded) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.f.timeout)
	defer cancel()
	n, err := a.f.serverCount(ctx, a.mainChannel)
	return n, wrapErr("serverCount", err)
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

// decode reads {type, data, uid, nsp}; with filter, it drops this
// server's own messages and other namespaces'. It returns the type, the
// data's fields and, in data[""], the sender's uid.
func (a *sharded) decode(payload []byte, filter bool) (int, map[string]node, bool) {
	msg, err := decodeMessage(payload)
	if err != nil {
		a.logDrop("message", err)
		return 0, nil, false
	}
	m, err := msg.Map()
	if err != nil {
		a.logDrop("message", err)
		return 0, nil, false
	}
	var uid, nsp string
	if v := m["uid"]; v != nil {
		uid, _ = v.Str()
	}
	if v := m["nsp"]; v != nil {
		nsp, _ = v.Str()
	}
	if filter && (uid == a.uid || nsp != a.name) {
		return 0, nil, false
	}
	typ, err := intField(m, "type")
	if err != nil {
		a.logDrop("message", err)
		return 0, nil, false
	}
	data := map[string]node{}
	if d := m["data"]; d != nil && !isNull(d) {
		if data, err = d.Map(); err != nil {
			a.logDrop("message", err)
			return 0, nil, false
		}
	}
	data[""] = jsonNode(mustJSONString(uid))
	return typ, data, true
}

func mustJSONString(s string) []byte {
	b, _ := encodeJSON(s)
	return b
}

func (a *sharded) onMessage(typ int, data map[string]node) {
	uid, _ := data[""].Str()
	var id string
	if v := data["requestId"]; v != nil && !isNull(v) {
		id, _ = v.Str()
	}
	ctx := context.Background()
	opts, timeout, err := decodeOptions(data["opts"])
	if err != nil {
		a.logDrop("message", err)
		return
	}
	switch typ {
	case msgBroadcast:
		if data["packet"] == nil {
			a.logDrop("broadcast", errors.New("no packet"))
			return
		}
		packet, err := data["packet"].Map()
		if err != nil || packet["data"] == nil {
			a.logDrop("broadcast", errors.Join(err, errors.New("bad packet")))
			return
		}
		pkt, err := eventPacket(packet["data"])
		if err != nil {
			a.logDrop("broadcast", err)
			return
		}
		if id == "" {
			if err := a.MemoryAdapter.Broadcast(ctx, pkt, opts); err != nil {
				a.f.logger.Warn("redisadapter: delivering another server's broadcast", "namespace", a.name, "err", err)
			}
			return
		}
		r := &ackReceiver{
			count: func(n int) {
				a.respond(uid, msgBroadcastCount, obj{{"requestId", id}, {"clientCount", n}})
			},
			ack: func(arg any) {
				a.respond(uid, msgBroadcastAck, obj{{"requestId", id}, {"packet", arg}})
			},
		}
		a.relayWithAck(pkt, opts, timeout, r)
	case msgSocketsJoin, msgSocketsLeave:
		rooms, err := stringsOf(data["rooms"])
		if err != nil {
			a.logDrop("message", err)
			return
		}
		if typ == msgSocketsJoin {
			a.MemoryAdapter.AddSockets(ctx, opts, rooms)
		} else {
			a.MemoryAdapter.DelSockets(ctx, opts, rooms)
		}
	case msgDisconnectSockets:
		a.MemoryAdapter.DisconnectSockets(ctx, opts, data["close"] != nil && data["close"].Bool())
	case msgFetchSockets:
		socks, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
		list := make([]any, len(socks))
		for i, s := range socks {
			list[i] = encodeSocket(s)
		}
		a.respond(uid, msgFetchSocketsResp, obj{{"requestId", id}, {"sockets", list}})
	case msgServerSideEmit:
		if data["packet"] == nil {
			a.logDrop("serverSideEmit", errors.New("no packet"))
			return
		}
		args, err := rawArgs(data["packet"])
		if err != nil {
			a.logDrop("serverSideEmit", err)
			return
		}
		var ack func([]any)
		if id != "" {
			ack = func(reply []any) {
				var first any
				if len(reply) > 0 {
					first = value{reply[0]}
				}
				a.respond(uid, msgServerSideEmitResp, obj{{"requestId", id}, {"packet", first}})
			}
		}
		if err := a.nsp.ReceiveServerSideEmit(args, ack); err != nil {
			a.logDrop("serverSideEmit", err)
		}
	}
}

func (a *sharded) onResponse(typ int, data map[string]node) {
	if data["requestId"] == nil {
		return
	}
	id, err := data["requestId"].Str()
	if err != nil {
		return
	}
	switch typ {
	case msgBroadcastCount:
		n, _ := intField(data, "clientCount")
		a.ackCount(id, n)
	case msgBroadcastAck:
		a.ackArg(id, argOf(data["packet"]))
	case msgServerSideEmitResp:
		a.serverSideAck(id, argOf(data["packet"]))
	case msgFetchSocketsResp:
		var socks []node
		if s := data["sockets"]; s != nil {
			if socks, err = s.Array(); err != nil {
				a.logDrop("response", err)
				return
			}
		}
		a.fetched(id, socks)
	}
}
