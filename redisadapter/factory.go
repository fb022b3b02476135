package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
)

// Options configures the classic adapter (New). A nil *Options, or any
// zero field, gives the defaults, which are those of
// @socket.io/redis-adapter's createAdapter.
type Options struct {
	// Key is the prefix of the channels. Default "socket.io".
	Key string
	// RequestsTimeout bounds how long a request to the other servers
	// (FetchSockets, Rooms, ServerSideEmit with ack, and an acknowledged
	// broadcast whose context has no deadline) waits for their answers.
	// Default 5s.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel sends this server's answers to the
	// requesting server's own response channel, rather than to the
	// channel every server reads. Default false.
	PublishOnSpecificResponseChannel bool
	// MaxPendingPublishes bounds the messages waiting to be published, per
	// server; beyond it (Redis down or too slow) a message is dropped,
	// logged and counted. Default 10000.
	MaxPendingPublishes int
	// Logger receives the adapter's diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// SubscriptionMode says which channels a sharded adapter subscribes to.
type SubscriptionMode int

const (
	// Dynamic subscribes to the namespace's channel and to one channel per
	// room that has a socket on this server, but the sockets' own rooms.
	// A broadcast to one such room is published on its channel, and reaches
	// only the servers that have the room. It is the default.
	Dynamic SubscriptionMode = iota
	// Static subscribes to the namespace's channel only: every broadcast
	// reaches every server.
	Static
	// DynamicPrivate is Dynamic with the sockets' own rooms too, so that a
	// message to one socket reaches only its server.
	DynamicPrivate
)

// String returns the mode's name in @socket.io/redis-adapter:
// "dynamic", "static" or "dynamic-private".
func (m SubscriptionMode) String() string {
	switch m {
	case Static:
		return "static"
	case DynamicPrivate:
		return "dynamic-private"
	default:
		return "dynamic"
	}
}

// ShardedOptions configures the sharded adapter (NewSharded). A nil
// *ShardedOptions, or any zero field, gives the defaults, which are those
// of @socket.io/redis-adapter's createShardedAdapter.
type ShardedOptions struct {
	// ChannelPrefix is the prefix of the channels. Default "socket.io".
	ChannelPrefix string
	// SubscriptionMode chooses the channels subscribed. Default Dynamic.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds how long a request to the other servers
	// waits for their answers, as Options.RequestsTimeout. Default 5s.
	RequestsTimeout time.Duration
	// MaxPendingPublishes is as Options.MaxPendingPublishes. Default
	// 10000.
	MaxPendingPublishes int
	// Logger receives the adapter's diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Factory makes the Redis adapters of a server's namespaces: pass its
// Adapter method as ferry.Options.Adapter. All the namespaces of one
// server share one subscription connection, and one ordered publisher; a
// factory used by several servers in one process keeps one of each per
// server. Its methods are safe for concurrent use.
type Factory struct {
	client     redis.UniversalClient
	sharded    bool                                 // sharded pub/sub: NewSharded, or NewStreams with UseShardedPubSub
	streams    *StreamsOptions                      // NewStreams, with its defaults
	readClient func() (redis.UniversalClient, bool) // NewStreams: see readClients
	prefix     string                               // Key, or ChannelPrefix
	timeout    time.Duration
	specific   bool
	mode       SubscriptionMode
	maxPending int
	logger     *slog.Logger
	stats      counters
	publishLog logLimiter // publish errors
	dropLog    logLimiter // messages ignored
	readLog    logLimiter // stream reads failed

	mu   sync.Mutex
	hubs map[*ferry.Server]*hub // guarded by mu
}

const (
	defaultPrefix     = "socket.io"
	defaultTimeout    = 5 * time.Second
	defaultMaxPending = 10000
)

// New returns a factory of adapters that speak the protocol of
// @socket.io/redis-adapter's createAdapter (8.x) over Redis pub/sub, and
// that @socket.io/redis-emitter and Emitter reach. client is not closed by
// the factory.
func New(client redis.UniversalClient, opts *Options) *Factory {
	var o Options
	if opts != nil {
		o = *opts
	}
	f := newFactory(client, o.Key, o.RequestsTimeout, o.MaxPendingPublishes, o.Logger)
	f.specific = o.PublishOnSpecificResponseChannel
	return f
}

// NewSharded returns a factory of adapters that speak the protocol of
// @socket.io/redis-adapter's createShardedAdapter (8.3) over Redis sharded
// pub/sub (SPUBLISH, Redis 7 or later). client is not closed by the
// factory.
func NewSharded(client redis.UniversalClient, opts *ShardedOptions) *Factory {
	var o ShardedOptions
	if opts != nil {
		o = *opts
	}
	f := newFactory(client, o.ChannelPrefix, o.RequestsTimeout, o.MaxPendingPublishes, o.Logger)
	f.sharded = true
	f.mode = o.SubscriptionMode
	return f
}

func newFactory(client redis.UniversalClient, prefix string, timeout time.Duration, maxPending int, logger *slog.Logger) *Factory {
	if prefix == "" {
		prefix = defaultPrefix
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if maxPending <= 0 {
		maxPending = defaultMaxPending
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Factory{
		client:     client,
		prefix:     prefix,
		timeout:    timeout,
		maxPending: maxPending,
		logger:     logger,
		hubs:       make(map[*ferry.Server]*hub),
	}
}

// Stats returns what the factory's adapters have published and received
// so far.
func (f *Factory) Stats() Stats { return f.stats.snapshot() }

// Adapter returns the adapter of nsp: pass the method value as
// ferry.Options.Adapter. It subscribes without waiting for Redis; the
// server counts in other servers' ServerCount once the subscription is
// made. A dynamic parent namespace (which never broadcasts itself) gets a
// ferry.MemoryAdapter.
func (f *Factory) Adapter(nsp *ferry.Namespace) ferry.Adapter {
	if nsp.Name() == "" {
		return ferry.NewMemoryAdapter(nsp)
	}
	h := f.acquire(nsp.Server())
	if f.streams != nil {
		return newStreams(f, h, nsp)
	}
	if f.sharded {
		return newSharded(f, h, nsp)
	}
	return newClassic(f, h, nsp)
}

// acquire returns the hub of server, started if needed, counting one more
// adapter on it.
func (f *Factory) acquire(server *ferry.Server) *hub {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hubs[server]
	if h == nil {
		h = newHub(f, server)
		f.hubs[server] = h
	}
	h.adapters++
	return h
}

// release counts one adapter less on h, and stops h after its last.
func (f *Factory) release(h *hub) {
	f.mu.Lock()
	h.adapters--
	last := h.adapters == 0
	if last && f.hubs[h.server] == h {
		delete(f.hubs, h.server)
	}
	f.mu.Unlock()
	if last {
		h.stop()
	}
}

// serverCount returns the number of subscribers of channel: the servers
// sharing the namespace. On a Redis Cluster it sums the count of every
// node, as the Node adapters do.
func (f *Factory) serverCount(ctx context.Context, channel string) (int, error) {
	count := func(ctx context.Context, c redis.Cmdable) (int64, error) {
		var m map[string]int64
		var err error
		if f.sharded {
			m, err = c.PubSubShardNumSub(ctx, channel).Result()
		} else {
			m, err = c.PubSubNumSub(ctx, channel).Result()
		}
		return m[channel], err
	}
	if cc, ok := f.client.(*redis.ClusterClient); ok && !f.sharded {
		var mu sync.Mutex
		var total int64
		err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
			n, err := count(ctx, c)
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
		return int(total), err
	}
	n, err := count(ctx, f.client)
	return int(n), err
}

// uidAlphabet is the alphabet of uid2, which names Node's classic adapters
// and their requests.
const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// shortID returns 6 random characters of uidAlphabet, as uid2(6).
func shortID() string {
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = uidAlphabet[b[i]&63]
	}
	return string(b[:])
}

// hexID returns 8 random bytes in hex, as ClusterAdapter's randomId.
func hexID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
