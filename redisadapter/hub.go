package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
)

// ErrQueueFull is returned (wrapped) for a publish dropped because the
// factory's queue of publishes held Options.MaxPendingPublishes already:
// Redis is down or slower than the servers publish.
var ErrQueueFull = errors.New("redisadapter: publish queue full")

// ErrClosed is returned (wrapped) for an operation on an adapter that was
// closed.
var ErrClosed = errors.New("redisadapter: adapter closed")

// Stats counts what a Factory's adapters published on Redis. Its counts
// only grow.
type Stats struct {
	// Published counts the messages published, and the stream entries and
	// sessions written.
	Published uint64
	// PublishErrors counts the messages that could not be published:
	// refused by Redis, timed out, unreachable, or dropped from a full
	// queue.
	PublishErrors uint64
	// Dropped counts, among PublishErrors, the messages dropped because
	// the queue was full.
	Dropped uint64
	// Received counts the messages received from Redis, stream entries
	// included.
	Received uint64
	// Undecodable counts the messages received that could not be decoded
	// and were ignored.
	Undecodable uint64
	// ReadErrors counts the reads of a stream that failed (NewStreams).
	ReadErrors uint64
}

// counters are a factory's Stats, updated atomically.
type counters struct {
	published, publishErrors, dropped, received, undecodable, readErrors atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Published:     c.published.Load(),
		PublishErrors: c.publishErrors.Load(),
		Dropped:       c.dropped.Load(),
		Received:      c.received.Load(),
		Undecodable:   c.undecodable.Load(),
		ReadErrors:    c.readErrors.Load(),
	}
}

// subKind is how a channel is subscribed.
type subKind int

const (
	subChannel subKind = iota // SUBSCRIBE
	subPattern                // PSUBSCRIBE
	subShard                  // SSUBSCRIBE
)

// handler receives a message of a channel the hub subscribed to.
type handler func(channel string, payload []byte)

// hub is the Redis side of a factory's adapters on one ferry.Server: one
// subscription connection shared by all the server's namespaces, a
// goroutine that dispatches what it receives, and a goroutine that runs
// publishes and subscription changes in order. It runs while at least one
// of its adapters is open.
type hub struct {
	f      *Factory
	server *ferry.Server
	ps     *redis.PubSub
	ctx    context.Context // done once the hub stops
	cancel context.CancelFunc

	mu       sync.RWMutex
	channels map[string]handler       // guarded by mu: channel (SUBSCRIBE or SSUBSCRIBE) -> handler
	patterns map[string]handler       // guarded by mu: pattern -> handler
	readers  map[string]*streamReader // guarded by mu: stream -> its reader (NewStreams)

	qmu       sync.Mutex
	queue     []op // guarded by qmu
	publishes int  // guarded by qmu: publishes in queue
	stopped   bool // guarded by qmu
	wake      chan struct{}

	// liveID names this server in the heartbeats of a Streams factory
	// with recovery ("" otherwise), where mdd is its
	// MaxDisconnectionDuration; beats is closed once its heartbeat
	// goroutine ends, and beaten is set once a heartbeat is in Redis.
	liveID string
	mdd    time.Duration
	beats  chan struct{}
	beaten atomic.Bool

	adapters    int         // guarded by f.mu: open adapters
	dispatching atomic.Bool // a handler is running on the receive goroutine
	received    chan struct{}
	ran         chan struct{}
}

// op is one entry of a hub's queue: a publish, or a subscription change.
// A publish with run set runs it instead of PUBLISH: another write, such as
// XADD or SET, counted as a publish.
type op struct {
	publish bool
	sharded bool   // SPUBLISH rather than PUBLISH
	channel string // for a publish: the channel, or the key run writes
	payload []byte
	run     func(ctx context.Context) error
	done    func(error) // for a publish; may be nil

	sub      bool // subscribe rather than unsubscribe
	kind     subKind
	channels []string
}

func newHub(f *Factory, server *ferry.Server) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{
		f:        f,
		server:   server,
		ctx:      ctx,
		cancel:   cancel,
		channels: make(map[string]handler),
		patterns: make(map[string]handler),
		readers:  make(map[string]*streamReader),
		wake:     make(chan struct{}, 1),
		received: make(chan struct{}),
		ran:      make(chan struct{}),
	}
	// A PubSub with no channel yet: it connects on its first
	// subscription, and go-redis reconnects and resubscribes it by itself.
	if f.sharded {
		h.ps = f.client.SSubscribe(ctx)
	} else {
		h.ps = f.client.Subscribe(ctx)
	}
	msgs := h.ps.Channel(redis.WithChannelSize(1024))
	go h.receive(msgs)
	go h.run()
	if rec := server.Recovery(); rec != nil && f.streams != nil {
		h.liveID, h.mdd, h.beats = hexID(), rec.MaxDisconnectionDuration, make(chan struct{})
		go h.heartbeat()
	}
	return h
}

// receive dispatches the messages of the subscription connection, one at a
// time, until the PubSub closes.
func (h *hub) receive(msgs <-chan *redis.Message) {
	defer close(h.received)
	for m := range msgs {
		h.f.stats.received.Add(1)
		h.mu.RLock()
		var fn handler
		if m.Pattern != "" {
			fn = h.patterns[m.Pattern]
		} else {
			fn = h.channels[m.Channel]
		}
		h.mu.RUnlock()
		if fn == nil {
			continue // unsubscribed meanwhile
		}
		h.dispatching.Store(true)
		fn(m.Channel, []byte(m.Payload))
		h.dispatching.Store(false)
	}
}

// subscribe routes the messages of channels (or patterns) of kind to fn,
// and queues the subscription: it never waits for Redis.
func (h *hub) subscribe(kind subKind, fn handler, channels ...string) {
	h.mu.Lock()
	for _, c := range channels {
		if kind == subPattern {
			h.patterns[c] = fn
		} else {
			h.channels[c] = fn
		}
	}
	h.mu.Unlock()
	h.enqueue(op{sub: true, kind: kind, channels: channels})
}

// unsubscribe stops the routing of channels and queues the unsubscription.
func (h *hub) unsubscribe(kind subKind, channels ...string) {
	h.mu.Lock()
	for _, c := range channels {
		if kind == subPattern {
			delete(h.patterns, c)
		} else {
			delete(h.channels, c)
		}
	}
	h.mu.Unlock()
	h.enqueue(op{kind: kind, channels: channels})
}

// publish queues payload for channel; done, if set, receives the outcome.
// It never waits for Redis: with Options.MaxPendingPublishes publishes
// queued already, the message is dropped and done receives ErrQueueFull.
func (h *hub) publish(channel string, payload []byte, done func(error)) {
	h.enqueue(op{publish: true, sharded: h.f.sharded, channel: channel, payload: payload, done: done})
}

// write queues run, a write to key, in order with the publishes, and
// bounded by Options.MaxPendingPublishes as they are; done, if set,
// receives the outcome.
func (h *hub) write(key string, run func(ctx context.Context) error, done func(error)) {
	h.enqueue(op{publish: true, channel: key, run: run, done: done})
}

func (h *hub) enqueue(o op) {
	h.qmu.Lock()
	if h.stopped {
		h.qmu.Unlock()
		if o.done != nil {
			o.done(ErrClosed)
		}
		return
	}
	if o.publish {
		if h.publishes >= h.f.maxPending {
			h.qmu.Unlock()
			h.f.stats.dropped.Add(1)
			h.f.publishFailed(o.channel, ErrQueueFull)
			if o.done != nil {
				o.done(ErrQueueFull)
			}
			return
		}
		h.publishes++
	}
	h.queue = append(h.queue, o)
	h.qmu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// run executes the queue in order until the hub stops; what is still
// queued then fails with ErrClosed.
func (h *hub) run() {
	defer close(h.ran)
	for {
		h.qmu.Lock()
		batch := h.queue
		h.queue = nil
		h.qmu.Unlock()
		for i, o := range batch {
			if h.ctx.Err() != nil {
				h.fail(batch[i:])
				break
			}
			h.exec(o)
		}
		select {
		case <-h.wake:
		case <-h.ctx.Done():
			h.qmu.Lock()
			h.stopped = true
			rest := h.queue
			h.queue = nil
			h.qmu.Unlock()
			h.fail(rest)
			return
		}
	}
}

func (h *hub) fail(ops []op) {
	for _, o := range ops {
		if o.publish && o.done != nil {
			o.done(ErrClosed)
		}
	}
}

func (h *hub) exec(o op) {
	ctx, cancel := context.WithTimeout(h.ctx, h.f.timeout)
	defer cancel()
	if !o.publish {
		var err error
		switch {
		case o.sub && o.kind == subPattern:
			err = h.ps.PSubscribe(ctx, o.channels...)
		case o.sub && o.kind == subShard:
			err = h.ps.SSubscribe(ctx, o.channels...)
		case o.sub:
			err = h.ps.Subscribe(ctx, o.channels...)
		case o.kind == subPattern:
			err = h.ps.PUnsubscribe(ctx, o.channels...)
		case o.kind == subShard:
			err = h.ps.SUnsubscribe(ctx, o.channels...)
		default:
			err = h.ps.Unsubscribe(ctx, o.channels...)
		}
		// go-redis keeps the subscription and makes it again once it
		// reconnects: a failure here is only logged.
		if err != nil && h.ctx.Err() == nil {
			h.f.logger.Warn("redisadapter: subscription change failed; it is made when Redis is back",
				"channels", o.channels, "err", err)
		}
		return
	}
	h.qmu.Lock()
	h.publishes--
	h.qmu.Unlock()
	var err error
	switch {
	case o.run != nil:
		err = o.run(ctx)
	case o.sharded:
		err = h.f.client.SPublish(ctx, o.channel, o.payload).Err()
	default:
		err = h.f.client.Publish(ctx, o.channel, o.payload).Err()
	}
	if err != nil {
		h.f.publishFailed(o.channel, err)
	} else {
		h.f.stats.published.Add(1)
	}
	if o.done != nil {
		o.done(err)
	}
}

// stop ends the hub: it closes the subscription connection, fails what is
// queued, and waits for its goroutines, except for the receiving one when
// called from a handler it runs (which ends once the handler returns).
func (h *hub) stop() {
	h.cancel()
	err := h.ps.Close()
	<-h.ran
	if h.beats != nil {
		<-h.beats
	}
	if !h.dispatching.Load() {
		<-h.received
	}
	if err != nil {
		h.f.logger.Debug("redisadapter: closing the subscription connection", "err", err)
	}
}

// logLimiter lets a kind of message be logged at most once per interval,
// and counts those held back meanwhile.
type logLimiter struct {
	mu      sync.Mutex
	last    time.Time // guarded by mu
	skipped int       // guarded by mu
}

const logInterval = time.Second

// allow reports whether to log now and, if so, how many were held back
// since the last line.
func (l *logLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.skipped++
		return false, 0
	}
	skipped := l.skipped
	l.last, l.skipped = now, 0
	return true, skipped
}

func (f *Factory) publishFailed(channel string, err error) {
	f.stats.publishErrors.Add(1)
	if ok, skipped := f.publishLog.allow(); ok {
		f.logger.Error("redisadapter: publish failed; other servers miss this message",
			"channel", channel, "err", err, "held_back", skipped)
	}
}

// wrapErr prefixes err for the operation what.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redisadapter: %s: %w", what, err)
}
