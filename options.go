package ferry

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/session"
)

// CORSOptions configures cross-origin access; see Options.CORS.
type CORSOptions = session.CORSOptions

// RelayOptions lets the servers of a cluster serve each other's
// connections; see Options.Relay.
type RelayOptions = session.RelayOptions

// DeflateOptions configures WebSocket compression; see
// Options.PerMessageDeflate. Threshold is the size, in bytes of an encoded
// Engine.IO packet, from which messages are compressed (default 1024, as
// socket.io's perMessageDeflate.threshold; negative compresses all); Level
// is the compress/flate level (default flate.BestSpeed).
type DeflateOptions = session.DeflateOptions

// Options configures a Server. A nil *Options, or any zero field, gives
// socket.io's defaults.
type Options struct {
	// Path is the URL path prefix the server answers. Default "/socket.io/".
	Path string
	// PingInterval is the time between server pings. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong before the
	// connection closes with "ping timeout". Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds the switch from long-polling to WebSocket; a
	// slower upgrade is abandoned and the connection stays on long-polling.
	// Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest message or POST body accepted, in
	// bytes. Default 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the enabled transports, from "polling" and
	// "websocket". Default both; []string{"websocket"} makes the server
	// websocket-only.
	Transports []string
	// DisableUpgrades keeps connections on the transport they opened with
	// (socket.io's allowUpgrades: false). Default false.
	DisableUpgrades bool
	// AllowRequest, if set, runs on every handshake and upgrade request; an
	// error refuses it with 403. Default nil.
	AllowRequest func(r *http.Request) error
	// CORS enables cross-origin access. Default nil: same-origin only.
	CORS *CORSOptions
	// Cookie, if set, is the template of a cookie holding the connection's
	// id, set on the handshake response. Default nil: no cookie.
	Cookie *http.Cookie
	// CompressionThreshold is the smallest long-polling response compressed
	// when the client accepts it, in bytes. Default 1024; negative disables.
	CompressionThreshold int
	// PerMessageDeflate, if set, turns on WebSocket compression
	// (permessage-deflate, socket.io's perMessageDeflate) for clients that
	// offer it, as browsers and socket.io-client in Node do: messages from
	// its Threshold up are compressed, unless emitted with Compress(false).
	// It costs CPU on both ends for fewer bytes on the wire; an idle
	// connection holds no compressor. Default nil: off, as in socket.io.
	PerMessageDeflate *DeflateOptions
	// MaxQueuedPackets bounds each connection's outbound queue; a client
	// that falls further behind is disconnected ("transport error").
	// Default 65536.
	MaxQueuedPackets int
	// MaxPollHold caps how long a long-polling GET is held waiting for
	// messages; it is then answered with a noop and the client polls again.
	// Set it below the request timeout of any proxy or load balancer in
	// front of the server (HAProxy's timeout server, say), which otherwise
	// cuts the GET and the connection with it. Default 0: a GET is held up
	// to PingInterval, as in socket.io; GETs cut again and again at one
	// age are then reported in the log, naming this option.
	MaxPollHold time.Duration
	// WriteTimeout bounds each write to a client: a batch of WebSocket
	// frames, or a long-polling response, 32 KiB at a time for a large
	// message, so that a slow client still gets it whole. A client that stops reading
	// while its TCP buffers are full is disconnected ("transport error")
	// once it passes, instead of holding the connection's writer. Default
	// 10s. socket.io has no such bound (a stalled client there is caught
	// by the heartbeat only).
	WriteTimeout time.Duration
	// Parser encodes Socket.IO packets. Default parser.Msgpack(), matching
	// socket.io-msgpack-parser; parser.JSON() matches socket.io's default
	// parser. Every client must use the same one: a client found to use the
	// other one (by its first message) is refused with a connect_error that
	// names the server's parser, and the server logs a warning, at most one
	// per minute.
	Parser parser.Codec
	// ConnectTimeout closes a connection that joins no namespace in time.
	// Default 45s.
	ConnectTimeout time.Duration
	// DisableClient stops the server from serving the bundled JavaScript
	// client at <Path>ferry.min.js. Default false.
	DisableClient bool
	// ConnectionStateRecovery, if set, turns on connection state recovery
	// (socket.io's connectionStateRecovery): a client that comes back
	// after losing its connection gets its socket, rooms, data and the
	// events it missed; see RecoveryOptions. Default nil: off.
	ConnectionStateRecovery *RecoveryOptions
	// DecodeLimits bounds what one packet from a client may decode into:
	// its arguments, its array elements and map entries at every depth,
	// and its nesting (see parser.Limits). A client that sends a packet
	// beyond them is refused before the packet is built, and disconnected
	// with reason "parse error". Zero fields take the parser's defaults,
	// which no legitimate application meets: 10,000 arguments, 1,000,000
	// elements, depth 1,000.
	DecodeLimits parser.Limits
	// CleanupEmptyChildNamespaces removes a dynamic namespace's child (see
	// Server.OfFunc) when its last socket leaves, and closes its adapter,
	// as socket.io's cleanupEmptyChildNamespaces does; a client connecting
	// to that name later gets a new child. Default false: a child, once a
	// socket joined it, lives as long as the server. Either way, a child
	// made for a connection that was refused, and which no socket joined, is
	// removed at once.
	CleanupEmptyChildNamespaces bool
	// Relay, if set, lets the servers of a cluster serve each other's
	// connections, so that a load balancer in front of them needs no
	// sticky sessions: any server may receive any request of a
	// connection. A long-polling request that reaches a server which does
	// not hold the connection is served by the one that does, through
	// RelayOptions.Bus (redisadapter.NewRelay carries it over Redis); a
	// WebSocket is accepted there and bridged to it. Each server needs a
	// Bus of its own. See session.RelayOptions for the timeout, and what
	// happens when a server goes away. Default nil: every request of a
	// connection must reach the server that holds it (its id is unknown
	// elsewhere).
	Relay *RelayOptions
	// Adapter builds each namespace's adapter, when the namespace is made;
	// the adapter is closed when the namespace is removed or the server
	// closes. Default NewMemoryAdapter.
	Adapter func(nsp *Namespace) Adapter
	// Observer, if set, hears of the server's events (connections,
	// upgrades, refused requests, packets and bytes, sockets, broadcasts,
	// ack timeouts), for metrics; see Observer. Default nil.
	Observer *Observer
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns a copy of o (which may be nil) with the ferry-level
// defaults applied; the engine applies its own.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if c.Path[len(c.Path)-1] != '/' {
		c.Path += "/"
	}
	if c.Parser == nil {
		c.Parser = parser.Msgpack()
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.Adapter == nil {
		c.Adapter = func(nsp *Namespace) Adapter { return NewMemoryAdapter(nsp) }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (o *Options) engineOptions(onConnection func(*session.Session)) *session.Options {
	return &session.Options{
		Path:                 o.Path,
		PingInterval:         o.PingInterval,
		PingTimeout:          o.PingTimeout,
		UpgradeTimeout:       o.UpgradeTimeout,
		MaxHTTPBufferSize:    o.MaxHTTPBufferSize,
		Transports:           o.Transports,
		DisableUpgrades:      o.DisableUpgrades,
		AllowRequest:         o.AllowRequest,
		CORS:                 o.CORS,
		Cookie:               o.Cookie,
		CompressionThreshold: o.CompressionThreshold,
		PerMessageDeflate:    o.PerMessageDeflate,
		MaxQueuedPackets:     o.MaxQueuedPackets,
		Relay:                o.Relay,
		MaxPollHold:          o.MaxPollHold,
		WriteTimeout:         o.WriteTimeout,
		OnConnection:         onConnection,
		Observer:             o.Observer.engineObserver(),
		Logger:               o.Logger,
	}
}
