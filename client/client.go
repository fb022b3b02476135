package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// flushTimeout bounds how long Close waits for queued packets (the
// namespaces' DISCONNECTs) to be written before it cuts the connection.
const flushTimeout = time.Second

// Client is a connection to a Socket.IO server: socket.io-client's Manager.
// It holds one Engine.IO session at a time (reopened after a loss) and
// multiplexes namespaces over it, one Socket per namespace.
//
// A Client is safe for concurrent use. Its callbacks run on one goroutine of
// its own, in order; see the package documentation.
type Client struct {
	opts     Options
	base     *url.URL
	codec    parser.Codec
	http     *http.Client
	ownHTTP  *http.Transport // the default HTTPClient's transport, released by Close
	dialer   *gorilla.Dialer
	log      *slog.Logger
	backoff  backoff
	requests atomic.Uint64 // polling cache-buster counter
	shut     atomic.Bool   // Close was called

	ctx    context.Context // ends open and reconnect attempts; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine but the dispatcher's
	disp   *dispatcher

	mu                 sync.Mutex
	engine             *engine              // guarded by mu: the current session, nil while none is open
	engines            map[*engine]struct{} // guarded by mu: every session not yet terminated
	opening            bool                 // guarded by mu: an open or reconnect loop runs
	closed             bool                 // guarded by mu
	sockets            map[string]*Socket   // guarded by mu: by namespace
	onReconnect        func(attempt int)    // guarded by mu
	onReconnectAttempt func(attempt int)    // guarded by mu
	onReconnectFailed  func()               // guarded by mu
}

// Dial opens an Engine.IO connection to the Socket.IO server at rawURL
// ("http://host:port", or https, ws, wss) and returns the Client. The URL's
// path must be empty or "/": the endpoint path is Options.Path, and
// namespaces are opened with Client.Socket. Query parameters of the URL are
// sent with every request.
//
// Dial performs the handshake over the first of Options.Transports, bounded
// by ctx and Options.Timeout, and starts the upgrade to WebSocket if one is
// configured and offered. It does not retry: a failed handshake is returned
// (an *HTTPError when the server refused it). No namespace is joined yet.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := parseBase(rawURL, o.Path)
	if err != nil {
		return nil, err
	}
	for k, vs := range base.Query() {
		if _, ok := o.Query[k]; !ok {
			o.Query[k] = vs
		}
	}
	base.RawQuery = ""
	c := &Client{
		opts:    o,
		base:    base,
		codec:   o.Parser,
		http:    o.HTTPClient,
		dialer:  o.Dialer,
		log:     o.Logger,
		backoff: backoff{min: o.ReconnectionDelay, max: o.ReconnectionDelayMax, jitter: o.RandomizationFactor, rnd: rand.Float64},
		disp:    newDispatcher(),
		engines: make(map[*engine]struct{}),
		sockets: make(map[string]*Socket),
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c.ownHTTP = tr
		c.http = &http.Client{Transport: tr}
	}
	if c.dialer == nil {
		c.dialer = &gorilla.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: o.Timeout}
	}
	e, ws, err := c.openEngine(ctx)
	if err != nil {
		if c.ownHTTP != nil {
			c.ownHTTP.CloseIdleConnections()
		}
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.disp.run()
	c.install(e, ws, 0)
	return c, nil
}

// parseBase checks the URL given to Dial and returns it with the Engine.IO
// path.
func parseBase(rawURL, path string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: bad URL: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("client: bad URL %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: bad URL %q: no host", rawURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("client: bad URL %q: set Options.Path for the endpoint and use Client.Socket for namespaces", rawURL)
	}
	u.Path = path
	u.RawPath = ""
	u.Fragment = ""
	return u, nil
}

// Socket returns the Socket for namespace ("/" when empty; a leading "/" is
// added if missing), creating it with opts on first use. Later calls for the
// same namespace return the same Socket and ignore opts. The Socket is not
// connected: register handlers, then call Socket.Connect.
func (c *Client) Socket(namespace string, opts *SocketOptions) *Socket {
	namespace = normalizeNamespace(namespace)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sockets[namespace]; ok {
		return s
	}
	s := newSocket(c, namespace, opts)
	c.sockets[namespace] = s
	return s
}

func normalizeNamespace(ns string) string {
	if !strings.HasPrefix(ns, "/") {
		ns = "/" + ns
	}
	return ns
}

// Transport returns the name of the transport carrying the connection now,
// "polling" or "websocket", or "" while no connection is open.
func (c *Client) Transport() string {
	c.mu.Lock()
	e := c.engine
	c.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.transportName()
}

// OnReconnect sets the function called after a successful reconnection,
// with the number of attempts it took, before the sockets rejoin their
// namespaces. It replaces any earlier one.
func (c *Client) OnReconnect(f func(attempt int)) {
	c.mu.Lock()
	c.onReconnect = f
	c.mu.Unlock()
}

// OnReconnectAttempt sets the function called before each reconnection
// attempt, numbered from 1. It replaces any earlier one.
func (c *Client) OnReconnectAttempt(f func(attempt int)) {
	c.mu.Lock()
	c.onReconnectAttempt = f
	c.mu.Unlock()
}

// OnReconnectFailed sets the function called when the client gives up after
// Options.ReconnectionAttempts attempts; its sockets are then inactive. It
// replaces any earlier one.
func (c *Client) OnReconnectFailed(f func()) {
	c.mu.Lock()
	c.onReconnectFailed = f
	c.mu.Unlock()
}

// Close disconnects every connected namespace (the server sees "client
// namespace disconnect"), waits up to a second for those packets to be
// written, closes the connection, and waits for the client's goroutines to
// end. Pending acknowledgements fail with ErrClosed, and OnDisconnect
// handlers run with ReasonClientDisconnect before Close returns.
//
// Close may be called from a handler. If a handler is running when Close
// is called, Close does not wait for it; the handler goroutine ends once the
// handler returns. Close is idempotent and returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.shut.Store(true)
	e := c.engine
	c.engine = nil
	socks := c.socketListLocked()
	c.mu.Unlock()
	c.cancel()

	for _, s := range socks {
		s.closeByClient(e)
	}
	if e != nil {
		e.shutdown()
		t := time.NewTimer(flushTimeout)
		select {
		case <-e.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	var engines []*engine
	for x := range c.engines {
		engines = append(engines, x)
	}
	c.mu.Unlock()
	for _, x := range engines {
		x.terminate(ReasonClientDisconnect, nil)
	}
	c.wg.Wait()
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
	if c.disp.stop() {
		<-c.disp.done
	}
	return nil
}

func (c *Client) socketListLocked() []*Socket {
	socks := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		socks = append(socks, s)
	}
	return socks
}

func (c *Client) socketList() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketListLocked()
}

func (c *Client) anyActiveLocked() bool {
	for _, s := range c.sockets {
		if s.isActive() {
			return true
		}
	}
	return false
}

// install makes e the current session, sends CONNECT for every active
// socket and starts e's goroutines. ws is the WebSocket of a WebSocket-only
// session; attempt is the number of the reconnection attempt that opened e
// (0 when it is not a reconnection). It reports false, terminating e, when
// the client is closed.
func (c *Client) install(e *engine, ws *gorilla.Conn, attempt int) bool {
	c.mu.Lock()
	c.opening = false
	if c.closed {
		c.mu.Unlock()
		e.terminate(ReasonClientDisconnect, nil)
		return false
	}
	c.engine = e
	c.engines[e] = struct{}{}
	socks := c.socketListLocked()
	onReconnect := c.onReconnect
	c.mu.Unlock()
	e.log.Debug("client: engine.io session open", "transport", e.kind)
	if attempt > 0 && onReconnect != nil {
		c.disp.push(func() { onReconnect(attempt) })
	}
	for _, s := range socks {
		s.sendConnect(e)
	}
	e.start(ws)
	return true
}

// ensureOpen gets s's CONNECT on its way: at once if a session is open,
// otherwise by starting an open loop if none runs.
func (c *Client) ensureOpen(s *Socket) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if e := c.engine; e != nil {
		c.mu.Unlock()
		s.sendConnect(e)
		return nil
	}
	if !c.opening {
		c.opening = true
		c.wg.Go(func() { c.openLoop(false) })
	}
	c.mu.Unlock()
	return nil
}

// maybeIdle closes the session once no socket is active, as socket.io-client
// does when its last socket disconnects. A later Connect reopens it.
func (c *Client) maybeIdle() {
	c.mu.Lock()
	if c.closed || c.anyActiveLocked() {
		c.mu.Unlock()
		return
	}
	e := c.engine
	c.engine = nil
	c.mu.Unlock()
	if e != nil {
		e.shutdown()
	}
}

// engineClosed is called once by e.terminate. If e was the current session,
// its sockets are told, and the client reconnects when enabled and some
// socket still wants to be connected.
func (c *Client) engineClosed(e *engine, reason DisconnectReason, err error) {
	c.mu.Lock()
	delete(c.engines, e)
	current := c.engine == e
	if current {
		c.engine = nil
	}
	retry := current && !c.closed && !c.opts.DisableReconnection
	socks := c.socketListLocked()
	c.mu.Unlock()
	stop := current && !retry
	for _, s := range socks {
		s.engineLost(e, reason, err, stop)
	}
	if !retry {
		return
	}
	c.mu.Lock()
	if !c.closed && !c.opening && c.engine == nil && c.anyActiveLocked() {
		c.opening = true
		c.wg.Go(func() { c.openLoop(true) })
	}
	c.mu.Unlock()
}

// receiveMessage decodes a message packet of e and routes it to its
// namespace's socket. A packet the parser rejects closes the session with
// "parse error"; packets for namespaces without a socket are dropped.
func (c *Client) receiveMessage(e *engine, p transport.Packet) {
	msg, err := e.decoder.Decode(p.Data, p.Binary)
	if err != nil {
		e.terminate(ReasonParseError, err)
		return
	}
	if msg == nil {
		return
	}
	c.mu.Lock()
	s := c.sockets[normalizeNamespace(msg.Namespace)]
	c.mu.Unlock()
	if s == nil {
		return
	}
	switch msg.Type {
	case parser.Connect:
		s.onConnect(e, msg)
	case parser.ConnectError:
		s.onConnectError(e, msg)
	case parser.Event, parser.BinaryEvent:
		s.onEvent(e, msg)
	case parser.Ack, parser.BinaryAck:
		s.onAck(e, msg)
	case parser.Disconnect:
		s.onServerDisconnect(e)
	}
}
