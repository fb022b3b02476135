package redisadapter

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/ferryio/ferry"
)

// Request types of the classic protocol (@socket.io/redis-adapter's
// RequestType).
const (
	reqSockets         = 0
	reqAllRooms        = 1
	reqRemoteJoin      = 2
	reqRemoteLeave     = 3
	reqRemoteDisconn   = 4
	reqRemoteFetch     = 5
	reqServerSideEmit  = 6
	reqBroadcast       = 7
	reqBroadcastCount  = 8
	reqBroadcastAck    = 9
	emitterUID         = "emitter"
	classicPatternTail = "*"
)

// classic is the adapter of one namespace in the classic protocol.
type classic struct {
	core
	broadcastPrefix  string // {key}#{nsp}#
	requestChannel   string // {key}-request#{nsp}#
	responseChannel  string // {key}-response#{nsp}#
	specificResponse string // {key}-response#{nsp}#{uid}#
	closeOnce        sync.Once
}

func newClassic(f *Factory, h *hub, nsp *ferry.Namespace) *classic {
	a := &classic{core: newCore(f, h, nsp, shortID())}
	k, n := f.prefix, nsp.Name()
	a.broadcastPrefix = k + "#" + n + "#"
	a.requestChannel = k + "-request#" + n + "#"
	a.responseChannel = k + "-response#" + n + "#"
	a.specificResponse = a.responseChannel + a.uid + "#"
	// The pattern first: once the request channel counts this server in,
	// it receives broadcasts too.
	h.subscribe(subPattern, a.onBroadcast, a.broadcastPrefix+classicPatternTail)
	h.subscribe(subChannel, a.onResponse, a.responseChannel, a.specificResponse)
	h.subscribe(subChannel, a.onRequest, a.requestChannel)
	return a
}

// broadcastChannel returns the channel of a broadcast to rooms.
func (a *classic) broadcastChannel(rooms []string) string {
	if len(rooms) == 1 {
		return a.broadcastPrefix + rooms[0] + "#"
	}
	return a.broadcastPrefix
}

// Broadcast implements ferry.Adapter: it delivers to this server's sockets,
// then queues the publish.
func (a *classic) Broadcast(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) error {
	var msg []byte
	var encErr error
	if !localOnly(opts) {
		packet := obj{{"type", 2}, {"data", argsOf(pkt)}, {"nsp", a.name}}
		msg, encErr = encodeMsgpack([]any{a.uid, packet, encodeOptions(opts, broadcastFlags(opts))})
	}
	err := a.MemoryAdapter.Broadcast(ctx, pkt, opts)
	if encErr != nil {
		return errors.Join(err, wrapErr("broadcast", encErr))
	}
	if msg != nil {
		a.h.publish(a.broadcastChannel(opts.Rooms), msg, nil)
	}
	return err
}

// BroadcastWithAck implements ferry.Adapter.
func (a *classic) BroadcastWithAck(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions, acks *ferry.AckCollector) error {
	acks.ExpectParts(1)
	localErr := a.MemoryAdapter.DeliverWithAck(ctx, pkt, opts, acks)
	if localOnly(opts) {
		return localErr
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return errors.Join(localErr, err)
	}
	id := shortID()
	flags := append(broadcastFlags(opts), kv{"timeout", a.ackTimeout(ctx)})
	msg, err := encodeMsgpack(obj{
		{"uid", a.uid},
		{"requestId", id},
		{"type", reqBroadcast},
		{"packet", obj{{"type", 2}, {"data", argsOf(pkt)}, {"nsp", a.name}}},
		{"opts", encodeOptions(opts, flags)},
	})
	if err != nil {
		return errors.Join(localErr, wrapErr("broadcast with ack", err))
	}
	if _, err := a.startAck(ctx, id, n-1, acks); err != nil {
		return errors.Join(localErr, err)
	}
	a.h.publish(a.requestChannel, msg, func(err error) {
		if err != nil {
			a.endAck(id) // nobody will answer
		}
	})
	return localErr
}

// FetchSockets implements ferry.Adapter: this server's sockets, then those
// of the servers that answer within the requests timeout.
func (a *classic) FetchSockets(ctx context.Context, opts ferry.BroadcastOptions) ([]*ferry.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if localOnly(opts) {
		return local, nil
	}
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return local, err
	}
	id := shortID()
	r := &request{expected: n - 1}
	if err := a.register(id, r); err != nil {
		return local, err
	}
	msg, err := encodeJSON(obj{{"uid", a.uid}, {"requestId", id}, {"type", reqRemoteFetch}, {"opts", encodeOptions(opts, nil)}})
	if err != nil {
		a.forget(id)
		return local, wrapErr("fetchSockets", err)
	}
	done, published := publishResult()
	a.h.publish(a.requestChannel, msg, done)
	err = a.wait(ctx, id, r, published, "fetchSockets")
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(local, r.sockets...), err
}

// Rooms implements ferry.Adapter.
func (a *classic) Rooms(ctx context.Context) ([]string, error) {
	local, _ := a.MemoryAdapter.Rooms(ctx)
	n, err := a.ServerCount(ctx)
	if err != nil || n <= 1 {
		return local, err
	}
	id := shortID()
	r := &request{expected: n - 1, rooms: make(map[string]struct{})}
	if err := a.register(id, r); err != nil {
		return local, err
	}
	msg, _ := encodeJSON(obj{{"uid", a.uid}, {"requestId", id}, {"type", reqAllRooms}})
	done, published := publishResult()
	a.h.publish(a.requestChannel, msg, done)
	err = a.wait(ctx, id, r, published, "allRooms")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, room := range local {
		r.rooms[room] = struct{}{}
	}
	return sortedKeys(r.rooms), err
}

// AddSockets implements ferry.Adapter: it applies locally, then publishes
// and waits for the publish, until ctx ends.
func (a *classic) AddSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	return a.roomRequest(ctx, reqRemoteJoin, opts, rooms, "socketsJoin")
}

// DelSockets implements ferry.Adapter.
func (a *classic) DelSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	return a.roomRequest(ctx, reqRemoteLeave, opts, rooms, "socketsLeave")
}

func (a *classic) roomRequest(ctx context.Context, typ int, opts ferry.BroadcastOptions, rooms []string, what string) error {
	if localOnly(opts) {
		return nil
	}
	msg, err := encodeJSON(obj{{"uid", a.uid}, {"type", typ}, {"opts", encodeOptions(opts, nil)}, {"rooms", stringList(rooms)}})
	if err != nil {
		return wrapErr(what, err)
	}
	done, published := publishResult()
	a.h.publish(a.requestChannel, msg, done)
	return awaitPublish(ctx, published, what)
}

// DisconnectSockets implements ferry.Adapter.
func (a *classic) DisconnectSockets(ctx context.Context, opts ferry.BroadcastOptions, close bool) error {
	a.MemoryAdapter.DisconnectSockets(ctx, opts, close)
	if localOnly(opts) {
		return nil
	}
	msg, err := encodeJSON(obj{{"uid", a.uid}, {"type", reqRemoteDisconn}, {"opts", encodeOptions(opts, nil)}, {"close", close}})
	if err != nil {
		return wrapErr("disconnectSockets", err)
	}
	done, published := publishResult()
	a.h.publish(a.requestChannel, msg, done)
	return awaitPublish(ctx, published, "disconnectSockets")
}

// ServerSideEmit implements ferry.Adapter. With acks it waits for the
// answers, until the requests timeout or ctx's end, and returns an error
// if some are missing.
func (a *classic) ServerSideEmit(ctx context.Context, args []any, acks *ferry.AckCollector) error {
	if acks == nil {
		msg, err := encodeJSON(obj{{"uid", a.uid}, {"type", reqServerSideEmit}, {"data", values(args)}})
		if err != nil {
			return wrapErr("serverSideEmit", err)
		}
		done, published := publishResult()
		a.h.publish(a.requestChannel, msg, done)
		return awaitPublish(ctx, published, "serverSideEmit")
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return wrapErr("serverSideEmit", err)
	}
	if n <= 1 {
		return nil
	}
	id := shortID()
	msg, err := encodeJSON(obj{{"uid", a.uid}, {"requestId", id}, {"type", reqServerSideEmit}, {"data", values(args)}})
	if err != nil {
		return wrapErr("serverSideEmit", err)
	}
	r := &request{expected: n - 1, acks: acks}
	if err := a.register(id, r); err != nil {
		return err
	}
	acks.ExpectParts(n - 1)
	done, published := publishResult()
	a.h.publish(a.requestChannel, msg, done)
	err = a.wait(ctx, id, r, published, "serverSideEmit")
	endServerSide(r)
	return err
}

// ServerCount implements ferry.Adapter: the subscribers of the request
// channel.
func (a *classic) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.f.timeout)
	defer cancel()
	n, err := a.f.serverCount(ctx, a.requestChannel)
	return n, wrapErr("serverCount", err)
}

// Close implements ferry.Adapter: it unsubscribes the namespace, ends the
// requests still waiting, and stops the hub after its last adapter.
func (a *classic) Close() error {
	a.closeOnce.Do(func() {
		a.h.unsubscribe(subPattern, a.broadcastPrefix+classicPatternTail)
		a.h.unsubscribe(subChannel, a.requestChannel, a.responseChannel, a.specificResponse)
		a.closeRequests()
		a.f.release(a.h)
	})
	return nil
}

// onBroadcast handles a message of the broadcast pattern.
func (a *classic) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.broadcastPrefix) || !strings.HasSuffix(channel, "#") {
		return
	}
	var room string
	if len(channel) > len(a.broadcastPrefix) {
		room = channel[len(a.broadcastPrefix) : len(channel)-1]
	}
	if room != "" && !a.HasRoom(room) {
		return // no socket here is in the room
	}
	msg, err := decodeMessage(payload)
	if err != nil {
		a.logDrop("broadcast", err)
		return
	}
	parts, err := msg.Array()
	if err != nil || len(parts) < 3 {
		a.logDrop("broadcast", errors.Join(err, errors.New("not [uid, packet, opts]")))
		return
	}
	if uid, _ := parts[0].Str(); uid == a.uid {
		return
	}
	packet, err := parts[1].Map()
	if err != nil {
		a.logDrop("broadcast", err)
		return
	}
	nsp := "/"
	if v := packet["nsp"]; v != nil && !isNull(v) {
		nsp, _ = v.Str()
	}
	if nsp != a.name {
		return
	}
	opts, _, err := decodeOptions(parts[2])
	if err != nil {
		a.logDrop("broadcast", err)
		return
	}
	if packet["data"] == nil {
		a.logDrop("broadcast", errors.New("packet without data"))
		return
	}
	pkt, err := eventPacket(packet["data"])
	if err != nil {
		a.logDrop("broadcast", err)
		return
	}
	if err := a.MemoryAdapter.Broadcast(context.Background(), pkt, opts); err != nil {
		a.f.logger.Warn("redisadapter: delivering another server's broadcast", "namespace", a.name, "err", err)
	}
}

// onRequest handles a message of the request channel.
func (a *classic) onRequest(_ string, payload []byte) {
	msg, err := decodeMessage(payload)
	if err != nil {
		a.logDrop("request", err)
		return
	}
	m, err := msg.Map()
	if err != nil {
		a.logDrop("request", err)
		return
	}
	var uid, id string
	if v := m["uid"]; v != nil {
		uid, _ = v.Str()
	}
	if v := m["requestId"]; v != nil {
		id, _ = v.Str()
	}
	if uid == a.uid {
		return // applied locally already, or gathered by the requester
	}
	typ, err := intField(m, "type")
	if err != nil {
		a.logDrop("request", err)
		return
	}
	ctx := context.Background()
	switch typ {
	case reqSockets:
		rooms, _ := stringsOf(m["rooms"])
		socks, _ := a.MemoryAdapter.FetchSockets(ctx, ferry.BroadcastOptions{Rooms: rooms})
		ids := make([]any, len(socks))
		for i, s := range socks {
			ids[i] = s.ID
		}
		a.respond(uid, obj{{"requestId", id}, {"sockets", ids}}, false)
	case reqAllRooms:
		rooms, _ := a.MemoryAdapter.Rooms(ctx)
		a.respond(uid, obj{{"requestId", id}, {"rooms", stringList(rooms)}}, false)
	case reqRemoteJoin, reqRemoteLeave:
		rooms, _ := stringsOf(m["rooms"])
		if m["opts"] == nil {
			a.legacyRoomRequest(m, uid, id, typ)
			return
		}
		opts, _, err := decodeOptions(m["opts"])
		if err != nil {
			a.logDrop("request", err)
			return
		}
		if typ == reqRemoteJoin {
			a.MemoryAdapter.AddSockets(ctx, opts, rooms)
		} else {
			a.MemoryAdapter.DelSockets(ctx, opts, rooms)
		}
	case reqRemoteDisconn:
		if m["opts"] == nil {
			a.legacyRoomRequest(m, uid, id, typ)
			return
		}
		opts, _, err := decodeOptions(m["opts"])
		if err != nil {
			a.logDrop("request", err)
			return
		}
		closeConn := m["close"] != nil && m["close"].Bool()
		a.MemoryAdapter.DisconnectSockets(ctx, opts, closeConn)
	case reqRemoteFetch:
		opts, _, err := decodeOptions(m["opts"])
		if err != nil {
			a.logDrop("request", err)
			return
		}
		socks, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
		list := make([]any, len(socks))
		for i, s := range socks {
			list[i] = encodeSocket(s)
		}
		a.respond(uid, obj{{"requestId", id}, {"sockets", list}}, false)
	case reqServerSideEmit:
		a.onServerSideEmit(m, id)
	case reqBroadcast:
		a.onBroadcastWithAck(m, uid, id)
	}
}

// legacyRoomRequest handles the 7.x form of a join, leave or disconnect:
// one socket by id, answered with the request id.
func (a *classic) legacyRoomRequest(m map[string]node, uid, id string, typ int) {
	var sid string
	if v := m["sid"]; v != nil {
		sid, _ = v.Str()
	}
	s := a.nsp.Socket(sid)
	if s == nil {
		return
	}
	switch typ {
	case reqRemoteJoin:
		if room, err := m["room"].Str(); m["room"] != nil && err == nil {
			s.Join(room)
		}
	case reqRemoteLeave:
		if room, err := m["room"].Str(); m["room"] != nil && err == nil {
			s.Leave(room)
		}
	case reqRemoteDisconn:
		s.Disconnect(m["close"] != nil && m["close"].Bool())
	}
	a.respond(uid, obj{{"requestId", id}}, false)
}

func (a *classic) onServerSideEmit(m map[string]node, id string) {
	a.receiveServerSideEmit(m["data"], "data", id, func(first any) {
		// Always on the shared response channel, as Node does.
		a.respond("", obj{{"type", reqServerSideEmit}, {"requestId", id}, {"data", first}}, false)
	})
}

func (a *classic) onBroadcastWithAck(m map[string]node, uid, id string) {
	pkt, _, err := broadcastPacket(m["packet"])
	if err != nil {
		a.logDrop("broadcast with ack", err)
		return
	}
	opts, timeout, err := decodeOptions(m["opts"])
	if err != nil {
		a.logDrop("broadcast with ack", err)
		return
	}
	opts.Volatile = false // Node's receivers drop the flags
	r := &ackReceiver{
		count: func(n int) {
			a.respond(uid, obj{{"type", reqBroadcastCount}, {"requestId", id}, {"clientCount", n}}, false)
		},
		ack: func(arg any) {
			a.respond(uid, obj{{"type", reqBroadcastAck}, {"requestId", id}, {"packet", arg}}, true)
		},
	}
	a.relayWithAck(pkt, opts, timeout, r)
}

// relayWithAck delivers another server's acknowledged broadcast here,
// reporting to r until the broadcast's timeout.
func (c *core) relayWithAck(pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions, timeoutMS int64, r ferry.AckReceiver) {
	d := c.f.timeout
	if timeoutMS > 0 {
		d = durationMS(timeoutMS)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	if err := c.MemoryAdapter.DeliverWithAck(ctx, pkt, opts, r); err != nil {
		c.f.logger.Warn("redisadapter: delivering another server's broadcast", "namespace", c.name, "err", err)
	}
	// The delivery forgets its acks when ctx ends; cancel it then.
	context.AfterFunc(ctx, cancel)
}

// respond publishes an answer to a request of server uid: on its own
// response channel with PublishOnSpecificResponseChannel, else on the
// shared one. asMsgpack chooses msgpack over JSON.
func (a *classic) respond(uid string, msg obj, asMsgpack bool) {
	var b []byte
	var err error
	if asMsgpack {
		b, err = encodeMsgpack(msg)
	} else {
		b, err = encodeJSON(msg)
	}
	if err != nil {
		a.f.logger.Warn("redisadapter: encoding an answer", "namespace", a.name, "err", err)
		return
	}
	channel := a.responseChannel
	if a.f.specific && uid != "" && uid != emitterUID {
		channel += uid + "#"
	}
	a.h.publish(channel, b, nil)
}

// onResponse handles a message of the response channels.
func (a *classic) onResponse(_ string, payload []byte) {
	msg, err := decodeMessage(payload)
	if err != nil {
		a.logDrop("response", err)
		return
	}
	m, err := msg.Map()
	if err != nil {
		a.logDrop("response", err)
		return
	}
	if m["requestId"] == nil {
		return
	}
	id, err := m["requestId"].Str()
	if err != nil {
		return
	}
	typ, _ := intField(m, "type")
	switch {
	case m["type"] != nil && typ == reqBroadcastCount:
		n, _ := intField(m, "clientCount")
		a.ackCount(id, int(n))
	case m["type"] != nil && typ == reqBroadcastAck:
		a.ackArg(id, argOf(m["packet"]))
	case m["type"] != nil && typ == reqServerSideEmit:
		a.serverSideAck(id, argOf(m["data"]))
	case m["sockets"] != nil:
		socks, err := m["sockets"].Array()
		if err != nil {
			a.logDrop("response", err)
			return
		}
		a.fetched(id, socks)
	case m["rooms"] != nil:
		rooms, err := stringsOf(m["rooms"])
		if err != nil {
			a.logDrop("response", err)
			return
		}
		a.roomsOf(id, rooms)
	}
}

// argOf returns an ack's single argument as Args: none when absent.
func argOf(n node) ferry.Args {
	if n == nil {
		return ferry.Args{}
	}
	raw, err := n.Raw()
	if err != nil {
		return ferry.Args{}
	}
	return ferry.Args{raw}
}

// intField reads an integer field.
func intField(m map[string]node, key string) (int, error) {
	v := m[key]
	if v == nil {
		return 0, errors.New("redisadapter: no " + strconv.Quote(key))
	}
	n, err := v.Int()
	return int(n), err
}
