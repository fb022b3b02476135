package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/ferryio/ferry"
)

// streamReader reads one stream for the namespaces of a server that map to
// it, and delivers its entries, in order, to their adapters. It reads on a
// client of its own (see readClients), as Node does: a blocking XREAD holds
// its connection, and closing the client interrupts it.
//
// With connection state recovery, it is also what orders this server's own
// broadcasts: each is delivered when the reader reaches its entry, so that
// the sockets get the stream's events in the stream's order, and an offset
// (the id of the newest entry a client got) tells exactly what the client
// got.
type streamReader struct {
	h      *hub
	name   string
	client redis.UniversalClient
	own    bool // client is the reader's own, closed when it stops
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// healthy is set while Redis answers: the stream's end is known and
	// the last read or write succeeded.
	healthy atomic.Bool

	mu   sync.Mutex // held while an entry is delivered
	cond *sync.Cond // on mu: an XADD of this server was answered
	refs int        // guarded by h.mu: adapters using the reader

	adapters  map[string]*streams          // guarded by mu: by namespace
	last      string                       // guarded by mu: the newest entry delivered; "" until the stream's end is known
	advanced  chan struct{}                // guarded by mu: closed, and replaced, when last moves
	inflight  int                          // guarded by mu: XADDs of this server sent and not answered
	confirmed streamID                     // guarded by mu: the newest id an XADD of this server got
	mine      map[string]*pendingBroadcast // guarded by mu: this server's broadcasts written, to deliver when read
	stopped   bool                         // guarded by mu

	side *sideQueue
	// connID is the CLIENT ID of the reads' connection, 0 while unknown:
	// with a client of one connection, what a stop unblocks.
	connID atomic.Int64
}

// pendingBroadcast is one of this server's broadcasts, under recovery, on
// its way through the stream.
type pendingBroadcast struct {
	a       *streams
	pkt     *ferry.EncodedPacket
	opts    ferry.BroadcastOptions
	claimed bool          // guarded by the reader's mu: delivered, by the reader or at once
	err     error         // guarded by the reader's mu: why it was delivered at once
	done    chan struct{} // closed once delivered
}

// acquireReader returns the reader of stream, started if needed, with a
// registered as the adapter of its namespace.
func (h *hub) acquireReader(stream string, a *streams) *streamReader {
	h.mu.Lock()
	r := h.readers[stream]
	if r == nil {
		r = newStreamReader(h, stream)
		h.readers[stream] = r
	}
	r.refs++
	h.mu.Unlock()
	r.mu.Lock()
	r.adapters[a.name] = a
	r.mu.Unlock()
	return r
}

// releaseReader unregisters a, and stops r after its last adapter.
func (h *hub) releaseReader(r *streamReader, a *streams) {
	r.mu.Lock()
	if r.adapters[a.name] == a {
		delete(r.adapters, a.name)
	}
	r.mu.Unlock()
	h.mu.Lock()
	r.refs--
	last := r.refs == 0
	if last && h.readers[r.name] == r {
		delete(h.readers, r.name)
	}
	h.mu.Unlock()
	if last {
		r.stop()
	}
}

func newStreamReader(h *hub, stream string) *streamReader {
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamReader{
		h:        h,
		name:     stream,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		adapters: make(map[string]*streams),
		advanced: make(chan struct{}),
		mine:     make(map[string]*pendingBroadcast),
		side:     newSideQueue(),
	}
	r.cond = sync.NewCond(&r.mu)
	r.client, r.own = h.f.readClient()
	go r.run()
	return r
}

// readClients returns what makes the clients of a factory's readers: a
// client of the same Redis, with the options c has now, one connection,
// and no maintenance notifications; or c itself for a kind of client it
// cannot copy (a read then ends within BlockTime of a stop).
func readClients(c redis.UniversalClient) func() (redis.UniversalClient, bool) {
	noMaint := func() *maintnotifications.Config {
		return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	}
	switch c := c.(type) {
	case *redis.Client:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
		o.PushNotificationProcessor = nil // the client's own
		return func() (redis.UniversalClient, bool) {
			oo := o
			oo.MaintNotificationsConfig = noMaint()
			return redis.NewClient(&oo), true
		}
	case *redis.ClusterClient:
		o := *c.Options()
		o.PushNotificationProcessor = nil
		return func() (redis.UniversalClient, bool) {
			oo := o
			oo.MaintNotificationsConfig = noMaint()
			return redis.NewClusterClient(&oo), true
		}
	}
	return func() (redis.UniversalClient, bool) { return c, false }
}

const (
	readRetryMin = 50 * time.Millisecond
	readRetryMax = time.Second
)

// run reads the stream until the reader stops; after an error it tries
// again, waiting longer each time (up to a second).
func (r *streamReader) run() {
	defer close(r.done)
	wait := readRetryMin
	for r.ctx.Err() == nil {
		err := r.read()
		if err == nil {
			wait = readRetryMin
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		r.healthy.Store(false)
		r.connID.Store(0) // the connection may be another after an error
		r.h.f.readFailed(r.name, err)
		t := time.NewTimer(wait)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, readRetryMax)
	}
}

// read reads once: the stream's end first, then what follows the newest
// entry delivered.
func (r *streamReader) read() error {
	c := r.client
	if _, single := c.(*redis.Client); single && r.own && r.connID.Load() == 0 {
		id, err := c.ClientID(r.ctx).Result()
		if err != nil {
			return err
		}
		r.connID.Store(id)
	}
	r.mu.Lock()
	from := r.last
	r.mu.Unlock()
	if from == "" {
		// Start at the stream's end: this server delivers what comes after.
		msgs, err := c.XRevRangeN(r.ctx, r.name, "+", "-", 1).Result()
		if err != nil {
			return err
		}
		from = "0-0"
		if len(msgs) > 0 {
			from = msgs[0].ID
		}
		r.mu.Lock()
		r.last = from
		r.advanceLocked()
		r.mu.Unlock()
		r.healthy.Store(true)
	}
	o := r.h.f.streams
	res, err := c.XRead(r.ctx, &redis.XReadArgs{
		Streams: []string{r.name, from},
		Count:   o.ReadCount,
		Block:   o.BlockTime,
	}).Result()
	if errors.Is(err, redis.Nil) {
		r.healthy.Store(true)
		return nil
	}
	if err != nil {
		return err
	}
	r.healthy.Store(true)
	for _, s := range res {
		for _, m := range s.Messages {
			r.deliver(m)
		}
	}
	return nil
}

// advanceLocked wakes those waiting for last to move.
func (r *streamReader) advanceLocked() {
	close(r.advanced)
	r.advanced = make(chan struct{})
}

// deliver hands an entry to its namespace's adapter, and moves last.
func (r *streamReader) deliver(m redis.XMessage) {
	r.h.f.stats.received.Add(1)
	e, ok := readEntry(m.ID, m.Values)
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.adapters[e.nsp]; ok && a != nil {
		a.onEntryLocked(e)
	}
	if id, ok := parseStreamID(m.ID); ok {
		for k, pb := range r.mine {
			// An entry of this server's that the reader passed without
			// seeing (trimmed first): deliver it now.
			if kid, _ := parseStreamID(k); !id.less(kid) && k != m.ID {
				delete(r.mine, k)
				r.deliverNowLocked(pb, nil)
			}
		}
	}
	r.last = m.ID
	r.advanceLocked()
}

// onEntryLocked handles an entry of the namespace's stream, in stream
// order. The reader's mu is held.
func (a *streams) onEntryLocked(e entry) {
	r := a.r
	if e.uid == a.uid {
		// Applied here already, but for broadcasts under recovery, which
		// are delivered now.
		if e.typ == msgBroadcast && a.rec != nil {
			r.deliverMineLocked(e.id)
		}
		return
	}
	data, err := e.fields()
	if err != nil {
		a.cl.logDrop("stream entry", err)
		return
	}
	switch e.typ {
	case msgBroadcast:
		if data["requestId"] != nil && !isNull(data["requestId"]) {
			a.cl.onMessage(e.typ, data)
			return
		}
		pkt, opts, acked, err := broadcastOf(data)
		if err != nil {
			a.cl.logDrop("broadcast", err)
			return
		}
		if a.rec != nil && !opts.Volatile && !acked {
			pkt.Offset = e.id
		}
		if err := a.mem.Broadcast(context.Background(), pkt, opts); err != nil {
			a.f.logger.Warn("redisadapter: delivering another server's broadcast", "namespace", a.name, "err", err)
		}
	case msgDisconnectSockets, msgServerSideEmit:
		// Their handlers may broadcast, which waits for this reader: they
		// run on a goroutine of their own, in order.
		r.side.push(func() { a.cl.onMessage(e.typ, data) })
	case msgFetchSocketsResp, msgServerSideEmitResp, msgBroadcastCount, msgBroadcastAck:
		a.cl.onResponse(e.typ, data)
	default:
		a.cl.onMessage(e.typ, data)
	}
}

// broadcastOf reads the packet and options of a broadcast, and whether
// the packet had an ack id: Node's Socket.emit with an ack, under
// recovery, writes one, which is neither given an offset nor replayed.
func broadcastOf(data map[string]node) (*ferry.EncodedPacket, ferry.BroadcastOptions, bool, error) {
	opts, _, err := decodeOptions(data["opts"])
	if err != nil {
		return nil, opts, false, err
	}
	pkt, packet, err := broadcastPacket(data["packet"])
	if err != nil {
		return nil, opts, false, fmt.Errorf("redisadapter: broadcast: %w", err)
	}
	return pkt, opts, packet["id"] != nil && !isNull(packet["id"]), nil
}

// deliverMineLocked delivers this server's broadcast whose entry id the
// reader reached. An XADD may still be waiting for its answer, which tells
// which broadcast the entry is: the reader waits for it. An entry no XADD
// waits for was delivered already (the XADD timed out).
func (r *streamReader) deliverMineLocked(id string) {
	sid, _ := parseStreamID(id)
	for {
		if pb := r.mine[id]; pb != nil {
			delete(r.mine, id)
			if !pb.claimed {
				pb.claimed = true
				pb.deliverLocked(id)
			}
			return
		}
		if r.stopped || r.inflight == 0 || !r.confirmed.less(sid) {
			return
		}
		r.cond.Wait()
	}
}

// deliverLocked delivers pb here, with offset (unless volatile).
func (pb *pendingBroadcast) deliverLocked(offset string) {
	if !pb.opts.Volatile && pb.a.rec != nil {
		pb.pkt.Offset = offset
	}
	if err := pb.a.mem.Broadcast(context.Background(), pb.pkt, pb.opts); err != nil {
		pb.a.f.logger.Warn("redisadapter: delivering a broadcast", "namespace", pb.a.name, "err", err)
	}
	close(pb.done)
}

// deliverNow delivers a broadcast that does not wait for the stream: a
// local one, or one sent while Redis is down. With recovery it carries the
// offset of the newest entry delivered, which stays true of what the
// client got.
func (r *streamReader) deliverNow(a *streams, pkt *ferry.EncodedPacket, opts ferry.BroadcastOptions) {
	pb := &pendingBroadcast{a: a, pkt: pkt, opts: opts, done: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	pb.claimed = true
	pb.deliverLocked(r.last)
}

// deliverNowLocked delivers pb at once, unless it was.
func (r *streamReader) deliverNowLocked(pb *pendingBroadcast, err error) {
	if pb.claimed {
		return
	}
	pb.claimed = true
	pb.err = err
	pb.deliverLocked(r.last)
}

// fail delivers pb at once, unless it was: its XADD failed, or took too
// long.
func (r *streamReader) fail(pb *pendingBroadcast, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliverNowLocked(pb, err)
}

// add queues the XADD of an entry; pb, if set, is the broadcast it carries,
// delivered once the reader reaches it. done, if set, receives the
// outcome.
func (r *streamReader) add(fields []any, pb *pendingBroadcast, done func(error)) {
	o := r.h.f.streams
	r.h.write(r.name, func(ctx context.Context) error {
		r.mu.Lock()
		r.inflight++
		r.mu.Unlock()
		id, err := r.h.f.client.XAdd(ctx, &redis.XAddArgs{
			Stream: r.name,
			MaxLen: o.MaxLen,
			Approx: true,
			Values: fields,
		}).Result()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.inflight--
		r.cond.Broadcast()
		if err != nil {
			r.healthy.Store(false)
			if pb != nil {
				r.deliverNowLocked(pb, err)
			}
			return err
		}
		r.healthy.Store(true)
		if sid, ok := parseStreamID(id); ok && r.confirmed.less(sid) {
			r.confirmed = sid
		}
		if pb != nil && !pb.claimed {
			r.mine[id] = pb
		}
		return nil
	}, done)
}

// offset returns the id of the newest entry delivered.
func (r *streamReader) offset() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// stop ends the reader, and its goroutines. A blocking read is unblocked
// (CLIENT UNBLOCK), or else interrupted by closing the reader's client.
func (r *streamReader) stop() {
	r.cancel()
	r.mu.Lock()
	r.stopped = true
	r.cond.Broadcast()
	r.mu.Unlock()
	if id := r.connID.Load(); id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = r.h.f.client.ClientUnblock(ctx, id).Err()
		cancel()
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-r.done:
		case <-t.C: // the read had not started: closing interrupts it
		}
		t.Stop()
	}
	if r.own {
		_ = r.client.Close()
	}
	<-r.done
	r.side.stop()
	// Broadcasts still waiting for their entry are delivered now.
	r.mu.Lock()
	for k, pb := range r.mine {
		delete(r.mine, k)
		r.deliverNowLocked(pb, ErrClosed)
	}
	r.mu.Unlock()
}

// readFailed counts and logs (at most once a second) a failed read.
func (f *Factory) readFailed(stream string, err error) {
	f.stats.readErrors.Add(1)
	if ok, skipped := f.readLog.allow(); ok {
		f.logger.Error("redisadapter: reading the stream failed; trying again",
			"stream", stream, "err", err, "held_back", skipped)
	}
}

// sideQueue runs functions in order on a goroutine of its own.
type sideQueue struct {
	mu    sync.Mutex
	queue []func() // guarded by mu
	done  bool     // guarded by mu
	wake  chan struct{}
	ended chan struct{}
}

func newSideQueue() *sideQueue {
	q := &sideQueue{wake: make(chan struct{}, 1), ended: make(chan struct{})}
	go q.run()
	return q
}

func (q *sideQueue) push(f func()) {
	q.mu.Lock()
	q.queue = append(q.queue, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *sideQueue) run() {
	defer close(q.ended)
	for {
		q.mu.Lock()
		batch, done := q.queue, q.done
		q.queue = nil
		q.mu.Unlock()
		for _, f := range batch {
			f()
		}
		if done {
			return
		}
		<-q.wake
	}
}

// stop runs what is queued, then ends the goroutine.
func (q *sideQueue) stop() {
	q.mu.Lock()
	q.done = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.ended
}
