package session

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// Options configures an Engine. The zero value gives socket.io's defaults.
type Options struct {
	// Path is the URL path prefix the engine answers. Default "/socket.io/".
	Path string
	// PingInterval is the time between server pings. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong before closing
	// the session with "ping timeout". Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout is how long a started upgrade may take before it is
	// abandoned and the session carries on over long-polling. Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest POST body or WebSocket message
	// accepted, in bytes, announced to clients as maxPayload. Default 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the enabled transports, from "polling" and
	// "websocket". Default both. With only "websocket", polling requests
	// are refused with code 0 ("Transport unknown").
	Transports []string
	// DisableUpgrades stops sessions from upgrading from long-polling to
	// WebSocket (socket.io's allowUpgrades: false). Default false.
	DisableUpgrades bool
	// AllowRequest, if set, runs on every handshake and WebSocket upgrade
	// request. A non-nil error refuses it with 403 and code 4 ("Forbidden").
	AllowRequest func(r *http.Request) error
	// CORS enables cross-origin access. Default nil: requests whose Origin
	// header names another host are refused (403, code 4), and no CORS
	// headers are sent.
	CORS *CORSOptions
	// Cookie, if set, is a template for the cookie set on the handshake
	// response, whose value is the session id (socket.io's cookie option;
	// its usual name is "io"). Default nil: no cookie.
	Cookie *http.Cookie
	// CompressionThreshold is the smallest long-polling response, in bytes,
	// that is compressed when the client accepts gzip or deflate.
	// Default 1024. Negative disables compression.
	CompressionThreshold int
	// PerMessageDeflate, if set, accepts WebSocket permessage-deflate
	// from clients that offer it (socket.io's perMessageDeflate): messages
	// from its Threshold up, and not marked NoCompress, are compressed.
	// Default nil: declined, as in socket.io.
	PerMessageDeflate *DeflateOptions
	// MaxQueuedPackets bounds each session's outbound queue. When a Send
	// would exceed it, the packets are refused with ErrQueueFull and the
	// session closes with ReasonQueueFull. Default 65536.
	MaxQueuedPackets int
	// WriteTimeout bounds each batch of WebSocket writes and the writing of
	// each long-polling response, 32 KiB at a time for large ones, so that
	// a slow client taking a large message gets it whole. A client that stops reading is closed
	// with ReasonTransportError once it passes. Default 10s; socket.io has
	// no such bound.
	WriteTimeout time.Duration
	// Relay, if set, lets the engines of a cluster serve each other's
	// sessions, so that any engine may receive any request of a session
	// (no sticky sessions); see RelayOptions. Default nil: a request
	// carrying the id of a session this engine does not hold is refused
	// (400, code 1).
	Relay *RelayOptions
	// MaxPollHold caps how long a long-polling GET is held waiting for
	// packets: when it passes, the GET is answered with a noop packet and
	// the client polls again at once. Set it below the request timeout of
	// any proxy or load balancer between the clients and the server (such
	// as HAProxy's timeout server), which otherwise cuts the GET and ends
	// the session. Default 0: no cap, a GET is held until there is
	// something to send, at the latest the next ping (PingInterval), as in
	// socket.io. Without it, GETs cut again and again at one age are
	// reported in the log, naming this option.
	MaxPollHold time.Duration
	// OnConnection is called with each new session, on the handshake
	// request's goroutine, before the handshake response is written: set
	// the session's callbacks there. Packets cannot arrive before it returns.
	OnConnection func(s *Session)
	// Observer, if set, hears of the engine's events (sessions opened and
	// closed, upgrades, refused requests, packets read and written), for
	// metrics; see Observer. Default nil.
	Observer *Observer
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// DeflateOptions configures WebSocket permessage-deflate; see
// websocket.DeflateOptions.
type DeflateOptions = websocket.DeflateOptions

// CORSOptions configures cross-origin access.
type CORSOptions struct {
	// AllowedOrigins lists the origins allowed, such as
	// "https://app.example.com". "*" allows every origin.
	AllowedOrigins []string
	// AllowOriginFunc, if set, decides for origins not in AllowedOrigins.
	AllowOriginFunc func(origin string) bool
	// AllowCredentials sends Access-Control-Allow-Credentials: true, for
	// clients created with withCredentials. The exact origin is then echoed
	// even when "*" is allowed.
	AllowCredentials bool
	// AllowedHeaders lists request headers a preflight allows. Default: the
	// headers the preflight asks for.
	AllowedHeaders []string
	// MaxAge is how long a browser may cache a preflight answer. Default 0
	// (no Access-Control-Max-Age header).
	MaxAge time.Duration
}

// withDefaults returns a copy of o (which may be nil) with defaults applied.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = 1e6
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{transport.NamePolling, transport.NameWebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = 1024
	}
	if c.MaxQueuedPackets <= 0 {
		c.MaxQueuedPackets = 65536
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
