package client

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Options configures a Client. A nil *Options, and every zero field, means
// the documented default, which matches socket.io-client's. Dial copies the
// struct; later changes to it have no effect.
type Options struct {
	// Path is the Engine.IO endpoint path on the server.
	// Default "/socket.io/".
	Path string

	// Transports lists the transports to use: the first one opens the
	// connection, and "websocket" later in the list is the upgrade target.
	// Valid names are "polling" and "websocket".
	// Default ["polling", "websocket"]: open with long-polling, then upgrade.
	// ["websocket"] connects with a WebSocket only; ["polling"] never
	// upgrades. There is no fallback: if the first transport fails, the
	// attempt fails.
	Transports []string

	// DisableUpgrade keeps the connection on the first transport even when
	// the server offers an upgrade (socket.io-client's upgrade: false).
	// Default false.
	DisableUpgrade bool

	// Parser is the Socket.IO codec; it must match the server's.
	// Default parser.Msgpack(), Ferry's default (socket.io-msgpack-parser
	// on a Node server); use parser.JSON() for a server on the default
	// socket.io-parser.
	Parser parser.Codec

	// DisableReconnection stops the client from reconnecting after the
	// connection is lost. Default false: reconnect.
	DisableReconnection bool

	// ReconnectionAttempts is the number of reconnection attempts before
	// giving up. Default 0: unlimited.
	ReconnectionAttempts int

	// ReconnectionDelay is the delay before the first reconnection attempt;
	// it doubles on each further attempt. Default 1s.
	ReconnectionDelay time.Duration

	// ReconnectionDelayMax caps the delay between attempts; it is raised to
	// ReconnectionDelay if lower. Default 5s.
	ReconnectionDelayMax time.Duration

	// RandomizationFactor spreads each delay uniformly over
	// delay×(1±factor). Default 0.5; a negative value disables the jitter,
	// and values above 1 count as 1.
	RandomizationFactor float64

	// Timeout bounds each attempt to open the Engine.IO connection (the
	// handshake, and the WebSocket probe during an upgrade). Default 20s.
	Timeout time.Duration

	// Query holds extra query parameters sent with every request, next to
	// those of the URL given to Dial.
	Query url.Values

	// Header holds extra HTTP headers sent with every polling request and
	// the WebSocket handshake (socket.io-client's extraHeaders).
	Header http.Header

	// HTTPClient makes the long-polling requests. It must not have a
	// Timeout shorter than the server's ping interval, since a poll is held
	// open until the server has something to send. Default: a client of the
	// Client's own, whose idle connections Close releases.
	HTTPClient *http.Client

	// Dialer opens WebSockets. Default: a gorilla Dialer using the proxy
	// from the environment, with Timeout as its handshake timeout.
	Dialer *gorilla.Dialer

	// MaxQueuedPackets bounds each outbound queue: the connection's queue of
	// packets waiting to be written, and each Socket's buffer of events
	// emitted while it is not connected (an event counts as one packet, plus
	// one per binary attachment with the JSON parser). It mirrors the
	// server's session.Options.MaxQueuedPackets, with the same rule: an
	// emit that would exceed the bound is refused with ErrQueueFull, and
	// the connection is closed with ReasonQueueFull (the client then
	// reconnects as after any loss), or, for a Socket's buffer, the Socket
	// is disconnected and stops reconnecting. Default 65536.
	MaxQueuedPackets int

	// Logger receives debug logs about connections and upgrades.
	// Default slog.Default().
	Logger *slog.Logger
}

// SocketOptions configures a Socket. A nil *SocketOptions means no auth.
type SocketOptions struct {
	// Auth is the payload of the namespace CONNECT packet (the server's
	// socket.handshake.auth): a map with string keys or a struct. It is
	// sent again on every reconnection; once a server with connection
	// state recovery gave the socket a private id, the reconnections send
	// it merged over {"pid": ..., "offset": ...} (see Socket.Recovered).
	// Default nil: no payload.
	Auth any
}

// Defaults for Options, as in socket.io-client.
const (
	defaultPath                 = "/socket.io/"
	defaultReconnectionDelay    = time.Second
	defaultReconnectionDelayMax = 5 * time.Second
	defaultRandomizationFactor  = 0.5
	defaultTimeout              = 20 * time.Second
	defaultMaxQueuedPackets     = 65536
)

// withDefaults returns a copy of o (which may be nil) with every zero field
// set to its default, or an error for an invalid setting.
func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = defaultPath
	}
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{transport.NamePolling, transport.NameWebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	for _, name := range c.Transports {
		if name != transport.NamePolling && name != transport.NameWebSocket {
			return c, fmt.Errorf("client: unknown transport %q in Options.Transports", name)
		}
	}
	if c.Parser == nil {
		c.Parser = parser.Msgpack()
	}
	if c.ReconnectionAttempts < 0 {
		return c, fmt.Errorf("client: negative Options.ReconnectionAttempts %d", c.ReconnectionAttempts)
	}
	if c.ReconnectionDelay <= 0 {
		c.ReconnectionDelay = defaultReconnectionDelay
	}
	if c.ReconnectionDelayMax <= 0 {
		c.ReconnectionDelayMax = defaultReconnectionDelayMax
	}
	if c.ReconnectionDelayMax < c.ReconnectionDelay {
		c.ReconnectionDelayMax = c.ReconnectionDelay
	}
	switch {
	case c.RandomizationFactor == 0:
		c.RandomizationFactor = defaultRandomizationFactor
	case c.RandomizationFactor < 0:
		c.RandomizationFactor = 0
	case c.RandomizationFactor > 1:
		c.RandomizationFactor = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.MaxQueuedPackets < 0 {
		return c, fmt.Errorf("client: negative Options.MaxQueuedPackets %d", c.MaxQueuedPackets)
	}
	if c.MaxQueuedPackets == 0 {
		c.MaxQueuedPackets = defaultMaxQueuedPackets
	}
	c.Query = cloneValues(c.Query)
	c.Header = c.Header.Clone()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
