package session

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// Engine is the Engine.IO server: an http.Handler that answers handshakes,
// routes each request to its session by sid, and runs the sessions'
// heartbeats and upgrades. Create it with NewEngine.
type Engine struct {
	opts     Options
	logger   *slog.Logger
	polling  *polling.Config
	ws       *websocket.Config
	registry registry
	relay    *relayer // nil without Options.Relay
	closed   atomic.Bool
	obs      *Observer // Options.Observer with no nil fields, or nil

	// testHookIdlePoll, if set (by tests, before serving), is called each
	// time Take finds nothing for a long-poll, which is then about to park.
	testHookIdlePoll func(*Session)
	// testHookHeartbeat, if set (by tests, before the first session), is
	// called each time a heartbeat timer fires, before the session acts on
	// it: a hook that sleeps makes the timer late.
	testHookHeartbeat func()
}

// NewEngine returns an Engine configured by opts, which may be nil.
func NewEngine(opts *Options) *Engine {
	o := opts.withDefaults()
	e := &Engine{opts: o, logger: o.Logger, obs: o.Observer.withNoops()}
	e.polling = polling.NewConfig(&polling.Options{
		MaxHTTPBufferSize:    o.MaxHTTPBufferSize,
		CompressionThreshold: o.CompressionThreshold,
		WriteTimeout:         o.WriteTimeout,
		MaxPollHold:          o.MaxPollHold,
		PingInterval:         o.PingInterval,
		Logger:               o.Logger,
	})
	e.ws = websocket.NewConfig(&websocket.Options{
		MaxHTTPBufferSize: o.MaxHTTPBufferSize,
		WriteTimeout:      o.WriteTimeout,
		CheckOrigin:       e.originAllowed,
		Deflate:           o.PerMessageDeflate,
		Logger:            o.Logger,
	})
	if o.Relay != nil {
		e.relay = newRelayer(e, o.Relay)
	}
	return e
}

// Path returns the URL path prefix the engine answers, such as "/socket.io/".
func (e *Engine) Path() string { return e.opts.Path }

// Count returns the number of sessions that are open or flushing their
// last packets.
func (e *Engine) Count() int { return e.registry.len() }

// Session returns the session with the given id, or nil.
func (e *Engine) Session(id string) *Session { return e.registry.get(id) }

// ServeHTTP answers Engine.IO requests under the engine's path; other paths
// get 404. Refused requests get the protocol's JSON error (400 or 403).
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, e.opts.Path) && r.URL.Path+"/" != e.opts.Path {
		http.NotFound(w, r)
		return
	}
	if e.applyCORS(w, r) {
		return
	}
	if !e.originAllowed(r) {
		e.refuse(w, r, http.StatusForbidden, transport.CodeForbidden)
		return
	}
	query := r.URL.RawQuery
	name := queryValue(query, "transport")
	if !slices.Contains(e.opts.Transports, name) {
		e.refuse(w, r, http.StatusBadRequest, transport.CodeUnknownTransport)
		return
	}
	isUpgrade := isWebSocketRequest(r)
	if sid := queryValue(query, "sid"); sid != "" {
		if e.relay != nil {
			if owner, remote := e.relay.owner(sid); remote {
				e.relay.forward(w, r, owner, sid, name, isUpgrade)
				return
			}
		}
		s := e.registry.get(sid)
		switch {
		case s == nil:
			e.refuse(w, r, http.StatusBadRequest, transport.CodeUnknownSID)
		case name == transport.NameWebSocket && isUpgrade:
			if !e.allowed(w, r) {
				return
			}
			e.upgrade(w, r, s)
		case name == transport.NamePolling:
			s.servePolling(w, r)
		default:
			e.refuse(w, r, http.StatusBadRequest, transport.CodeBadRequest)
		}
		return
	}
	switch {
	case r.Method != http.MethodGet:
		e.refuse(w, r, http.StatusBadRequest, transport.CodeBadHandshakeMethod)
	case name == transport.NameWebSocket && !isUpgrade:
		e.refuse(w, r, http.StatusBadRequest, transport.CodeBadRequest)
	case queryValue(query, "EIO") != "4":
		e.refuse(w, r, http.StatusBadRequest, transport.CodeUnsupportedVersion)
	case e.closed.Load():
		e.refuseClosed(w, r)
	case !e.allowed(w, r):
	default:
		e.handshake(w, r, name)
	}
}

// allowed runs Options.AllowRequest, refusing the request with 403 if it
// fails.
func (e *Engine) allowed(w http.ResponseWriter, r *http.Request) bool {
	if e.opts.AllowRequest == nil {
		return true
	}
	if err := e.opts.AllowRequest(r); err != nil {
		e.logger.Debug("request refused by AllowRequest", "err", err, "remote", r.RemoteAddr)
		e.refuse(w, r, http.StatusForbidden, transport.CodeForbidden)
		return false
	}
	return true
}

// refuse answers a refused request: the JSON error, or for a WebSocket
// upgrade request a plain-text status, as the reference server does.
func (e *Engine) refuse(w http.ResponseWriter, r *http.Request, status int, code transport.ErrorCode) {
	if e.obs != nil {
		e.obs.Refused(e.refusal(r, status, code))
	}
	if isWebSocketRequest(r) {
		http.Error(w, code.String(), status)
		return
	}
	polling.WriteError(w, status, code)
}

// refuseClosed refuses a handshake because the engine is closed.
func (e *Engine) refuseClosed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	e.refuse(w, r, http.StatusServiceUnavailable, transport.CodeBadRequest)
}

// servePolling routes a long-polling request to the session's polling
// transport, or refuses it if the session has moved to WebSocket.
func (s *Session) servePolling(w http.ResponseWriter, r *http.Request) {
	pt := s.pollingTransport()
	if pt == nil {
		s.engine.refuse(w, r, http.StatusBadRequest, transport.CodeBadRequest)
		return
	}
	pt.ServeHTTP(w, r)
}

// pollingTransport returns the session's long-polling transport, or nil
// once the session has moved to a WebSocket.
func (s *Session) pollingTransport() *polling.Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	pt, _ := s.current.(*polling.Transport)
	return pt
}

func isWebSocketRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Close closes every session at once, with ReasonServerShuttingDown, and
// refuses new handshakes. It does not wait for queued packets to be
// written. It returns ErrServerClosed if the engine was already closed.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return ErrServerClosed
	}
	for _, s := range e.registry.close() {
		s.closeWith(ReasonServerShuttingDown, nil, false)
		s.finish()
	}
	if e.relay != nil {
		e.relay.close()
	}
	return nil
}

// shutdownPollGrace is how long after its last GET was answered a
// long-polling client may take to send the next one, which collects its
// final packets, before Shutdown gives up on it. A client between two polls
// is back in a round trip; one that stopped polling costs Shutdown at most
// this.
const shutdownPollGrace = 250 * time.Millisecond

// Shutdown refuses new handshakes and closes every session at once, with
// ReasonServerShuttingDown. Each writes what it has queued and a close
// packet, if its client can take them soon:
//
//   - on WebSocket (or while upgrading to it): now, each batch of writes
//     within Options.WriteTimeout;
//   - on long-polling with a GET parked: now, in that GET's response,
//     within Options.WriteTimeout;
//   - on long-polling between two GETs: in the next GET, if it comes within
//     250ms of the last one's response. A client that has not polled for
//     that long may never poll again: its session ends at once, what was
//     queued for it is dropped, and its next request finds the session
//     unknown (code 1), as with socket.io's close.
//
// A session already closing for another reason is treated the same way.
// Shutdown returns once every session has ended, or when ctx is done, in
// which case it closes what remains at once and returns ctx's error. It
// returns ErrServerClosed if the engine was already closed.
func (e *Engine) Shutdown(ctx context.Context) error {
	if e.closed.Swap(true) {
		return ErrServerClosed
	}
	if e.relay != nil {
		// Once the sessions have flushed, what this engine relays for
		// others ends, and the bus closes.
		defer e.relay.close()
	}
	sessions := e.registry.close()
	for _, s := range sessions {
		s.shutdown()
	}
	for _, s := range sessions {
		select {
		case <-s.done:
		case <-ctx.Done():
			for _, s := range sessions {
				s.finish()
			}
			return ctx.Err()
		}
	}
	return nil
}

// shutdown closes s for Engine.Shutdown, with a final flush unless its
// client is a long-polling one that has stopped polling.
func (s *Session) shutdown() {
	s.mu.Lock()
	cur, upgrading := s.current, s.probe != nil
	s.mu.Unlock()
	pt, ok := cur.(*polling.Transport)
	if !ok || upgrading || pt.Parked() {
		// The final packets go out now.
		s.closeWith(ReasonServerShuttingDown, nil, true)
		return
	}
	grace := min(shutdownPollGrace, s.engine.opts.PingTimeout)
	deadline := time.Now().Add(grace) // a GET is being answered
	if since := pt.IdleSince(); !since.IsZero() {
		deadline = since.Add(grace)
	}
	if !time.Now().Before(deadline) {
		// Stopped polling. finish ends a session that was already
		// closing, waiting for a GET.
		s.closeWith(ReasonServerShuttingDown, nil, false)
		s.finish()
		return
	}
	// Between two polls: the next GET collects the final packets, if it
	// comes by the deadline.
	s.closeWith(ReasonServerShuttingDown, nil, true)
	s.mu.Lock()
	if s.state == stateClosing {
		s.linger.Reset(time.Until(deadline))
	}
	s.mu.Unlock()
}
