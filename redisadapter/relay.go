package redisadapter

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry/session"
)

// RelayOptions configures NewRelay. A nil *RelayOptions, or any zero
// field, gives the defaults.
type RelayOptions struct {
	// Node is this server's node id: 4 characters of the URL-safe base64
	// alphabet (A-Z, a-z, 0-9, '-', '_'), different on every server of the
	// cluster. It begins the id of every session the server opens.
	// Default: 4 random characters, drawn anew by each NewRelay (two of n
	// servers share one with a chance of about n²/2^25: 3 in a million for
	// 10 servers).
	Node string
	// Key is the prefix of the channels: a server receives the messages
	// sent to it on "{Key}-relay#{Node}#". Default "socket.io".
	Key string
	// MaxPendingPublishes bounds the messages waiting to be published;
	// beyond it (Redis down or too slow) a message is dropped, counted in
	// Stats; the servers notice the loss and end what it concerned.
	// Default 10000.
	MaxPendingPublishes int
	// Logger receives the relay's diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Relay carries the messages by which the servers of a cluster serve each
// other's sessions, over Redis pub/sub: a session.Bus, to pass as the Bus
// of ferry.Options.Relay. Each server needs a Relay of its own:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := ferry.NewServer(&ferry.Options{
//		Adapter: redisadapter.New(rdb, nil).Adapter,
//		Relay:   &ferry.RelayOptions{Bus: redisadapter.NewRelay(rdb, nil)},
//	})
//
// Each server subscribes to a channel of its own, on a connection of its
// own, and publishes what it sends to another server on that server's
// channel, in order, from one goroutine that sends the publishes queued
// meanwhile in one round trip (a pipeline). Messages published while the
// receiving server's subscription is down are lost, as Redis pub/sub
// loses them; the servers number their messages, notice the gap, and end
// what was in flight between them (the sessions concerned close, and their
// clients reconnect).
//
// It needs a single Redis node (or a primary with replicas), as the order
// of messages is kept only there. The server's ferry.Server starts it and
// closes it.
type Relay struct {
	client     redis.UniversalClient
	node       string
	prefix     string // "{Key}-relay#"
	maxPending int
	logger     *slog.Logger
	stats      counters
	publishLog logLimiter

	mu      sync.Mutex
	queue   []relayOut    // guarded by mu
	opened  bool          // guarded by mu
	closed  bool          // guarded by mu
	ps      *redis.PubSub // guarded by mu: the subscription, once opened
	wake    chan struct{} // signal to the publisher (capacity 1)
	stop    chan struct{} // closed by Close: the publisher flushes and ends
	ran     chan struct{} // closed when the publisher has ended
	receipt chan struct{} // closed when the receiving goroutine has ended
}

// relayOut is a message waiting to be published.
type relayOut struct {
	channel string
	payload []byte
}

var _ session.Bus = (*Relay)(nil)

// relayFlushWait bounds how long Close waits for what is queued to be
// published.
const relayFlushWait = time.Second

// NewRelay returns a Relay over client, which it does not close. It panics
// if RelayOptions.Node is set but is not a valid node id.
func NewRelay(client redis.UniversalClient, opts *RelayOptions) *Relay {
	var o RelayOptions
	if opts != nil {
		o = *opts
	}
	if o.Node == "" {
		o.Node = randomNode()
	} else if !validNode(o.Node) {
		panic("redisadapter: RelayOptions.Node must be 4 characters of the URL-safe base64 alphabet, not " + o.Node)
	}
	if o.Key == "" {
		o.Key = defaultPrefix
	}
	if o.MaxPendingPublishes <= 0 {
		o.MaxPendingPublishes = defaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Relay{
		client:     client,
		node:       o.Node,
		prefix:     o.Key + "-relay#",
		maxPending: o.MaxPendingPublishes,
		logger:     o.Logger,
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		ran:        make(chan struct{}),
		receipt:    make(chan struct{}),
	}
}

// randomNode returns 4 random characters of the URL-safe base64 alphabet.
func randomNode() string {
	var b [4]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = uidAlphabet[b[i]&63]
	}
	return string(b[:])
}

func validNode(node string) bool {
	if len(node) != 4 {
		return false
	}
	for i := range len(node) {
		c := node[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Node implements session.Bus: it returns this server's node id.
func (r *Relay) Node() string { return r.node }

// channel returns the channel node receives on.
func (r *Relay) channel(node string) string { return r.prefix + node + "#" }

// Stats returns what the relay has published and received so far.
func (r *Relay) Stats() Stats { return r.stats.snapshot() }

// Open implements session.Bus: it subscribes to this server's channel,
// without waiting for Redis (go-redis subscribes once it can, and again
// after each reconnection), and starts the publisher. It does nothing
// after the first call, or after Close.
func (r *Relay) Open(receive func(msg []byte)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opened || r.closed {
		return
	}
	r.opened = true
	r.ps = r.client.Subscribe(context.Background(), r.channel(r.node))
	msgs := r.ps.Channel(redis.WithChannelSize(1024))
	go func() {
		defer close(r.receipt)
		for m := range msgs {
			r.stats.received.Add(1)
			receive([]byte(m.Payload))
		}
	}()
	go r.publish()
}

// Send implements session.Bus: it queues msg for node's channel. It never
// waits for Redis; with MaxPendingPublishes messages queued already, msg is
// dropped and Send returns ErrQueueFull.
func (r *Relay) Send(node string, msg []byte) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	if len(r.queue) >= r.maxPending {
		r.mu.Unlock()
		r.stats.dropped.Add(1)
		r.publishFailed(r.channel(node), ErrQueueFull)
		return ErrQueueFull
	}
	r.queue = append(r.queue, relayOut{channel: r.channel(node), payload: msg})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// publish publishes the queue in order, each batch in one round trip,
// until Close; then it publishes what is left, for at most relayFlushWait.
func (r *Relay) publish() {
	defer close(r.ran)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case <-r.wake:
		case <-r.stop:
			ctx, cancel := context.WithTimeout(context.Background(), relayFlushWait)
			defer cancel()
			r.flush(ctx)
			return
		}
		r.flush(ctx)
	}
}

// flush publishes what is queued, in batches, until the queue is empty.
func (r *Relay) flush(ctx context.Context) {
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		r.publishBatch(ctx, batch)
	}
}

// publishBatch publishes batch in one pipeline. What fails is counted and
// logged; the servers notice the messages missing.
func (r *Relay) publishBatch(ctx context.Context, batch []relayOut) {
	ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range batch {
			p.Publish(ctx, m.channel, m.payload)
		}
		return nil
	})
	if err == nil {
		r.stats.published.Add(uint64(len(batch)))
		return
	}
	for i, c := range cmds {
		if c.Err() != nil {
			r.publishFailed(batch[i].channel, c.Err())
		} else {
			r.stats.published.Add(1)
		}
	}
	if len(cmds) == 0 {
		for _, m := range batch {
			r.publishFailed(m.channel, err)
		}
	}
}

func (r *Relay) publishFailed(channel string, err error) {
	r.stats.publishErrors.Add(1)
	if ok, skipped := r.publishLog.allow(); ok {
		r.logger.Error("redisadapter: relay publish failed; the sessions it concerned end",
			"channel", channel, "err", err, "held_back", skipped)
	}
}

// Close implements session.Bus: it publishes what is queued (for at most
// a second), then closes the subscription and waits for the relay's
// goroutines. Later Sends fail with ErrClosed.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	opened, ps := r.opened, r.ps
	r.mu.Unlock()
	if !opened {
		return nil
	}
	close(r.stop)
	<-r.ran
	err := ps.Close()
	<-r.receipt
	return err
}
