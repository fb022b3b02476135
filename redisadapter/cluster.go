package redisadapter

import (
	"context"
	"errors"

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

// cluster is the protocol of socket.io-adapter's ClusterAdapter for one
// namespace, which the sharded and the Streams adapters speak over
// different transports: requests to the other servers, their answers, and
// what this server does with the messages it receives.
type cluster struct {
	core
	tr transport
}

// transport is how a cluster adapter reaches the other servers.
type transport interface {
	// send sends a message of type typ to every other server; done, if
	// set, receives the outcome.
	send(typ int, data obj, done func(error)) error
	// respond sends a response to the server uid.
	respond(uid string, typ int, data obj)
	// count returns the number of servers sharing the namespace, this one
	// included.
	count(ctx context.Context) (int, error)
}

func newCluster(f *Factory, h *hub, nsp *ferry.Namespace) cluster {
	return cluster{core: newCore(f, h, nsp, hexID())}
}

// BroadcastWithAck implements ferry.Adapter: the request reaches every
// server the transport counts.
func (a *cluster) BroadcastWithAck(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions, acks *ferry.AckCollector) error {
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
	data := obj{
		{"packet", obj{{"type", 2}, {"data", argsOf(pkt)}}},
		{"requestId", id},
		{"opts", encodeOptions(opts, flags)},
	}
	if _, err := a.startAck(ctx, id, n-1, acks); err != nil {
		return errors.Join(localErr, err)
	}
	if err := a.tr.send(msgBroadcast, data, func(err error) {
		if err != nil {
			a.endAck(id)
		}
	}); err != nil {
		a.endAck(id)
		return errors.Join(localErr, wrapErr("broadcast with ack", err))
	}
	return localErr
}

// FetchSockets implements ferry.Adapter.
func (a *cluster) FetchSockets(ctx context.Context, opts ferry.BroadcastOptions) ([]*ferry.RemoteSocket, error) {
	local, _ := a.MemoryAdapter.FetchSockets(ctx, opts)
	if localOnly(opts) {
		return local, nil
	}
	remote, err := a.fetchRemote(ctx, opts, &request{})
	return append(local, remote.sockets...), err
}

// fetchRemote asks the other servers for their sockets that opts selects,
// gathering them in r.
func (a *cluster) fetchRemote(ctx context.Context, opts ferry.BroadcastOptions, r *request) (*request, error) {
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
	if err := a.tr.send(msgFetchSockets, obj{{"opts", encodeOptions(opts, obj{})}, {"requestId", id}}, done); err != nil {
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
func (a *cluster) Rooms(ctx context.Context) ([]string, error) {
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
func (a *cluster) AddSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.AddSockets(ctx, opts, rooms)
	return a.publishAndWait(ctx, opts, msgSocketsJoin, obj{{"opts", encodeOptions(opts, obj{})}, {"rooms", stringList(rooms)}}, "socketsJoin")
}

// DelSockets implements ferry.Adapter.
func (a *cluster) DelSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	a.MemoryAdapter.DelSockets(ctx, opts, rooms)
	return a.publishAndWait(ctx, opts, msgSocketsLeave, obj{{"opts", encodeOptions(opts, obj{})}, {"rooms", stringList(rooms)}}, "socketsLeave")
}

// DisconnectSockets implements ferry.Adapter.
func (a *cluster) DisconnectSockets(ctx context.Context, opts ferry.BroadcastOptions, close bool) error {
	a.MemoryAdapter.DisconnectSockets(ctx, opts, close)
	return a.publishAndWait(ctx, opts, msgDisconnectSockets, obj{{"opts", encodeOptions(opts, obj{})}, {"close", close}}, "disconnectSockets")
}

func (a *cluster) publishAndWait(ctx context.Context, opts ferry.BroadcastOptions, typ int, data obj, what string) error {
	if localOnly(opts) {
		return nil
	}
	done, published := publishResult()
	if err := a.tr.send(typ, data, done); err != nil {
		return wrapErr(what, err)
	}
	return awaitPublish(ctx, published, what)
}

// ServerSideEmit implements ferry.Adapter, as the classic adapter's.
func (a *cluster) ServerSideEmit(ctx context.Context, args []any, acks *ferry.AckCollector) error {
	if acks == nil {
		done, published := publishResult()
		if err := a.tr.send(msgServerSideEmit, obj{{"packet", values(args)}}, done); err != nil {
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
	if err := a.tr.send(msgServerSideEmit, obj{{"requestId", id}, {"packet", values(args)}}, done); err != nil {
		a.forget(id)
		endServerSide(r)
		return wrapErr("serverSideEmit", err)
	}
	err = a.wait(ctx, id, r, published, "serverSideEmit")
	endServerSide(r)
	return err
}

// ServerCount implements ferry.Adapter: as the transport counts them.
func (a *cluster) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.f.timeout)
	defer cancel()
	n, err := a.tr.count(ctx)
	return n, wrapErr("serverCount", err)
}

// decode reads {type, data, uid, nsp}; with filter, it drops this
// server's own messages and other namespaces'. It returns the type, the
// data's fields and, in data[""], the sender's uid.
func (a *cluster) decode(payload []byte, filter bool) (int, map[string]node, bool) {
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

func (a *cluster) onMessage(typ int, data map[string]node) {
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
		pkt, _, err := broadcastPacket(data["packet"])
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
				a.tr.respond(uid, msgBroadcastCount, obj{{"requestId", id}, {"clientCount", n}})
			},
			ack: func(arg any) {
				a.tr.respond(uid, msgBroadcastAck, obj{{"requestId", id}, {"packet", arg}})
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
		a.tr.respond(uid, msgFetchSocketsResp, obj{{"requestId", id}, {"sockets", list}})
	case msgServerSideEmit:
		a.receiveServerSideEmit(data["packet"], "packet", id, func(first any) {
			a.tr.respond(uid, msgServerSideEmitResp, obj{{"requestId", id}, {"packet", first}})
		})
	}
}

func (a *cluster) onResponse(typ int, data map[string]node) {
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
