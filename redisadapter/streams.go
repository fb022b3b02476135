package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
)

// StreamsOptions configures the Redis Streams adapter (NewStreams). A nil
// *StreamsOptions, or any zero field, gives the defaults, which are those
// of @socket.io/redis-streams-adapter's createAdapter (0.3).
type StreamsOptions struct {
	// StreamName is the key of the stream, or with StreamCount above 1
	// the prefix of the keys "{StreamName}-{i}". Default "socket.io".
	StreamName string
	// StreamCount is the number of streams the namespaces are spread
	// over, each namespace on one, as Node maps them (see the package
	// documentation). Default 1.
	StreamCount int
	// ChannelPrefix is the prefix of the pub/sub channels that carry
	// requests and their answers. Default "socket.io".
	ChannelPrefix string
	// UseShardedPubSub uses sharded pub/sub (SPUBLISH, Redis 7) for the
	// requests. Default false.
	UseShardedPubSub bool
	// MaxLen trims each stream to about this many entries (XADD MAXLEN ~).
	// A client that missed more than what is kept cannot recover.
	// Default 10000.
	MaxLen int64
	// ReadCount is the most entries one read returns (XREAD COUNT).
	// Default 100.
	ReadCount int64
	// BlockTime is how long one read waits for new entries (XREAD BLOCK).
	// Default 5s.
	BlockTime time.Duration
	// SessionKeyPrefix starts the keys of the sessions kept for
	// connection state recovery. Default "sio:session:".
	SessionKeyPrefix string
	// LiveKeyPrefix starts the keys, Ferry's own, where a server with
	// connection state recovery keeps the state of its connected sockets
	// and its heartbeat, so that the clients of a server that dies recover
	// on the others (see the package documentation). Default
	// "ferry:live:".
	LiveKeyPrefix string
	// HeartbeatTimeout is how long a server with connection state
	// recovery may go without refreshing its heartbeat in Redis before the
	// others take it for dead and restore the sessions of its clients;
	// each server refreshes it every third of HeartbeatTimeout. Set
	// RestoreWait above it. Default 10s.
	HeartbeatTimeout time.Duration
	// OnlyPlaintext writes every entry's data as JSON, even one holding
	// binary data (which then arrives as {"type":"Buffer","data":[...]}).
	// Default false.
	OnlyPlaintext bool
	// RestoreWait is how long restoring a session waits for it to be
	// kept, when it is not there yet: a client that reconnects at once to
	// another server can be quicker than its old server is to keep its
	// session. With ferry.Options.Relay, a server finds a client whose
	// relayed connection broke gone only RelayOptions.Timeout later: set
	// RestoreWait above it. A negative RestoreWait does not wait. Default
	// 250ms.
	RestoreWait time.Duration
	// RequestsTimeout bounds how long a request to the other servers
	// waits for their answers, as Options.RequestsTimeout, and how long a
	// broadcast waits for Redis before it is delivered to this server's
	// sockets without it. Default 5s.
	RequestsTimeout time.Duration
	// MaxPendingPublishes is as Options.MaxPendingPublishes, counting
	// stream entries and sessions to write too. Default 10000.
	MaxPendingPublishes int
	// Logger receives the adapter's diagnostics. Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultMaxLen           = 10000
	defaultReadCount        = 100
	defaultBlockTime        = 5 * time.Second
	defaultSessionKeyPrefix = "sio:session:"
	defaultRestoreWait      = 250 * time.Millisecond
	defaultLiveKeyPrefix    = "ferry:live:"
	defaultHeartbeatTimeout = 10 * time.Second
)

// NewStreams returns a factory of adapters that speak the protocol of
// @socket.io/redis-streams-adapter 0.3: broadcasts and room changes go
// through Redis streams, requests and their answers through pub/sub. Its
// adapters implement ferry.RecoveryAdapter: with
// ferry.Options.ConnectionStateRecovery, a client that loses its
// connection recovers on any server of the cluster, Ferry or Node.
// client is not closed by the factory. Each stream is read on a client of
// its own, made with the options client has when NewStreams is called.
func NewStreams(client redis.UniversalClient, opts *StreamsOptions) *Factory {
	var o StreamsOptions
	if opts != nil {
		o = *opts
	}
	f := newFactory(client, o.ChannelPrefix, o.RequestsTimeout, o.MaxPendingPublishes, o.Logger)
	f.sharded = o.UseShardedPubSub
	o.ChannelPrefix = f.prefix
	if o.StreamName == "" {
		o.StreamName = defaultPrefix
	}
	if o.StreamCount <= 0 {
		o.StreamCount = 1
	}
	if o.MaxLen <= 0 {
		o.MaxLen = defaultMaxLen
	}
	if o.ReadCount <= 0 {
		o.ReadCount = defaultReadCount
	}
	if o.BlockTime <= 0 {
		o.BlockTime = defaultBlockTime
	}
	if o.SessionKeyPrefix == "" {
		o.SessionKeyPrefix = defaultSessionKeyPrefix
	}
	if o.LiveKeyPrefix == "" {
		o.LiveKeyPrefix = defaultLiveKeyPrefix
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if o.RestoreWait == 0 {
		o.RestoreWait = defaultRestoreWait
	}
	f.streams = &o
	f.readClient = readClients(client)
	return f
}

// streams is the adapter of one namespace on the Redis Streams protocol.
// It does not embed the *ferry.MemoryAdapter that serves this server's
// sockets: its offsets are stream entry ids, which the memory adapter's
// own bookkeeping for recovery must not stand in for.
type streams struct {
	cl        cluster // the ClusterAdapter protocol, over pub/sub and the stream
	mem       *ferry.MemoryAdapter
	f         *Factory
	h         *hub
	r         *streamReader
	opts      *StreamsOptions
	rec       *ferry.RecoveryOptions // nil without recovery
	name      string                 // the namespace
	uid       string
	public    string // {prefix}#{nsp}#
	private   string // {prefix}#{nsp}#{uid}#
	closeOnce sync.Once

	lmu  sync.Mutex
	live map[string]*liveSocket // guarded by lmu: the tracked sockets, by socket id
	pids map[string]string      // guarded by lmu: their ids, by private id
}

func newStreams(f *Factory, h *hub, nsp *ferry.Namespace) *streams {
	a := &streams{
		cl:   newCluster(f, h, nsp),
		f:    f,
		h:    h,
		opts: f.streams,
		rec:  nsp.Server().Recovery(),
		name: nsp.Name(),
		live: make(map[string]*liveSocket),
		pids: make(map[string]string),
	}
	a.cl.tr = a
	a.mem = a.cl.MemoryAdapter
	a.uid = a.cl.uid
	a.public = f.prefix + "#" + a.name + "#"
	a.private = a.public + a.uid + "#"
	kind := subChannel
	if f.sharded {
		kind = subShard
	}
	h.subscribe(kind, a.onPrivate, a.private)
	h.subscribe(kind, a.onPublic, a.public)
	a.r = h.acquireReader(streamName(a.opts.StreamName, a.opts.StreamCount, a.name), a)
	return a
}

// AddAll implements ferry.Adapter; the live record of a tracked socket
// follows.
func (a *streams) AddAll(id string, rooms []string) {
	a.mem.AddAll(id, rooms)
	a.liveChanged(id)
}

// Del implements ferry.Adapter, as AddAll.
func (a *streams) Del(id, room string) {
	a.mem.Del(id, room)
	a.liveChanged(id)
}

// DelAll implements ferry.Adapter, as AddAll.
func (a *streams) DelAll(id string) {
	a.mem.DelAll(id)
	a.liveChanged(id)
}

// SocketRooms implements ferry.Adapter.
func (a *streams) SocketRooms(id string) []string { return a.mem.SocketRooms(id) }

// Rooms implements ferry.Adapter: the protocol has no request for rooms;
// the other servers' rooms are those of their sockets, fetched.
func (a *streams) Rooms(ctx context.Context) ([]string, error) { return a.cl.Rooms(ctx) }

// ServerCount implements ferry.Adapter: the subscribers of the public
// channel.
func (a *streams) ServerCount(ctx context.Context) (int, error) { return a.cl.ServerCount(ctx) }

// BroadcastWithAck implements ferry.Adapter, over pub/sub: the request is
// not kept in the stream.
func (a *streams) BroadcastWithAck(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions, acks *ferry.AckCollector) error {
	return a.cl.BroadcastWithAck(ctx, pkt, opts, acks)
}

// FetchSockets implements ferry.Adapter, over pub/sub.
func (a *streams) FetchSockets(ctx context.Context, opts ferry.BroadcastOptions) ([]*ferry.RemoteSocket, error) {
	return a.cl.FetchSockets(ctx, opts)
}

// AddSockets implements ferry.Adapter: it applies here, then writes to the
// stream and waits for the write, until ctx ends.
func (a *streams) AddSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	return a.cl.AddSockets(ctx, opts, rooms)
}

// DelSockets implements ferry.Adapter, as AddSockets.
func (a *streams) DelSockets(ctx context.Context, opts ferry.BroadcastOptions, rooms []string) error {
	return a.cl.DelSockets(ctx, opts, rooms)
}

// DisconnectSockets implements ferry.Adapter, as AddSockets.
func (a *streams) DisconnectSockets(ctx context.Context, opts ferry.BroadcastOptions, close bool) error {
	return a.cl.DisconnectSockets(ctx, opts, close)
}

// ServerSideEmit implements ferry.Adapter, over pub/sub.
func (a *streams) ServerSideEmit(ctx context.Context, args []any, acks *ferry.AckCollector) error {
	return a.cl.ServerSideEmit(ctx, args, acks)
}

// Broadcast implements ferry.Adapter. The broadcast is written to the
// stream. Without recovery it is delivered to this server's sockets at
// once, and written afterwards. With recovery this server delivers it when
// its reader reaches its entry, with the entry's id as offset, so that
// every socket gets the stream's events in the stream's order: then an
// offset tells exactly what a client got. If Redis does not answer within
// RequestsTimeout, or is known to be down, the broadcast is delivered at
// once, with the offset of the newest entry read.
func (a *streams) Broadcast(ctx context.Context, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) error {
	if localOnly(opts) {
		a.r.deliverNow(a, pkt, opts)
		return nil
	}
	data := obj{{"packet", obj{{"type", 2}, {"data", argsOf(pkt)}}}, {"opts", encodeOptions(opts, broadcastFlags(opts))}}
	fields, err := a.entry(msgBroadcast, data)
	if err != nil {
		a.r.deliverNow(a, pkt, opts)
		return wrapErr("broadcast", err)
	}
	if a.rec == nil {
		err := a.mem.Broadcast(ctx, pkt, opts)
		a.r.add(fields, nil, nil)
		return err
	}
	pb := &pendingBroadcast{a: a, pkt: pkt, opts: opts, done: make(chan struct{})}
	if !a.r.healthy.Load() {
		// Redis is down, or the stream not read yet: deliver now, and
		// write for the other servers if Redis takes it.
		a.r.deliverNow(a, pkt, opts)
		a.r.add(fields, nil, nil)
		return nil
	}
	a.r.add(fields, pb, func(err error) {
		if err != nil {
			a.r.fail(pb, err)
		}
	})
	timer := time.NewTimer(a.f.timeout)
	defer timer.Stop()
	select {
	case <-pb.done:
	case <-timer.C:
		a.r.fail(pb, errors.New("redisadapter: broadcast: the stream was not read back in time"))
	case <-ctx.Done():
		a.r.fail(pb, ctx.Err())
	}
	<-pb.done
	return wrapErr("broadcast", pb.err)
}

// entry returns the fields of a stream entry of type typ, in Node's
// order.
func (a *streams) entry(typ int, data obj) ([]any, error) {
	d, err := entryData(typ, data, a.opts.OnlyPlaintext)
	if err != nil {
		return nil, err
	}
	return []any{"uid", a.uid, "nsp", a.name, "type", strconv.Itoa(typ), "data", d}, nil
}

// send implements transport: broadcasts without ack and room changes go
// to the stream; acknowledged broadcasts, fetches and server-side events,
// which are not kept, to the public channel.
func (a *streams) send(typ int, data obj, done func(error)) error {
	if typ == msgFetchSockets || typ == msgServerSideEmit || typ == msgBroadcast && hasKey(data, "requestId") {
		b, err := encodeMsgpackJS(obj{{"type", typ}, {"data", data}, {"uid", a.uid}, {"nsp", a.name}})
		if err != nil {
			return err
		}
		a.h.publish(a.public, b, done)
		return nil
	}
	fields, err := a.entry(typ, data)
	if err != nil {
		return err
	}
	a.r.add(fields, nil, done)
	return nil
}

func hasKey(o obj, k string) bool {
	for _, e := range o {
		if e.k == k {
			return true
		}
	}
	return false
}

// respond implements transport: on server uid's private channel.
func (a *streams) respond(uid string, typ int, data obj) {
	b, err := encodeMsgpackJS(obj{{"type", typ}, {"data", data}, {"uid", a.uid}, {"nsp", a.name}})
	if err != nil {
		a.f.logger.Warn("redisadapter: encoding an answer", "namespace", a.name, "err", err)
		return
	}
	a.h.publish(a.public+uid+"#", b, nil)
}

// count implements transport: the subscribers of the public channel.
func (a *streams) count(ctx context.Context) (int, error) {
	return a.f.serverCount(ctx, a.public)
}

// onPublic handles a message of the public channel.
func (a *streams) onPublic(_ string, payload []byte) {
	typ, data, ok := a.cl.decode(payload, true)
	if ok {
		a.dispatch(typ, data)
	}
}

// onPrivate handles a message of this server's private channel.
func (a *streams) onPrivate(_ string, payload []byte) {
	typ, data, ok := a.cl.decode(payload, false)
	if ok {
		a.dispatch(typ, data)
	}
}

func (a *streams) dispatch(typ int, data map[string]node) {
	switch typ {
	case msgFetchSocketsResp, msgServerSideEmitResp, msgBroadcastCount, msgBroadcastAck:
		a.cl.onResponse(typ, data)
	default:
		a.cl.onMessage(typ, data)
	}
}

// Offset implements ferry.RecoveryAdapter: the id of the newest entry this
// server has read from the namespace's stream ("" before the first read).
func (a *streams) Offset() string { return a.r.offset() }

// Close implements ferry.Adapter.
func (a *streams) Close() error {
	a.closeOnce.Do(func() {
		kind := subChannel
		if a.f.sharded {
			kind = subShard
		}
		a.h.unsubscribe(kind, a.public, a.private)
		a.h.releaseReader(a.r, a)
		a.cl.closeRequests()
		a.mem.Close()
		a.f.release(a.h)
	})
	return nil
}
