package ferry

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferryio/ferry/internal/jsclient"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// Server is a Socket.IO server: an http.Handler that serves the protocol
// under Options.Path, on long-polling and WebSocket alike. Create it with
// NewServer and mount it on any router:
//
//	srv := ferry.NewServer(nil)
//	srv.OnConnection(func(s *ferry.Socket) { ... })
//	http.Handle("/socket.io/", srv)
//
// Methods that act on "the server" (OnConnection, Use, Emit, To, Except)
// act on the main namespace "/".
type Server struct {
	opts   Options
	engine *session.Engine
	codec  parser.Codec
	logger *slog.Logger
	client *jsclient.Handler // the bundled JavaScript client, or nil
	closed atomic.Bool
	burst  transport.Burst // broadcasts being handed out

	mu         sync.RWMutex
	namespaces map[string]*Namespace // guarded by mu
	dynamic    []*Namespace          // guarded by mu: parents of dynamic namespaces
}

// NewServer returns a Server configured by opts, which may be nil.
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{
		opts:       o,
		codec:      o.Parser,
		logger:     o.Logger,
		namespaces: make(map[string]*Namespace),
	}
	s.engine = session.NewEngine(o.engineOptions(s.onSession))
	if !o.DisableClient {
		s.client = newClientHandler()
	}
	s.namespaces["/"] = newNamespace(s, "/", nil)
	return s
}

// ServeHTTP answers Socket.IO requests under Options.Path, and the bundled
// JavaScript client at <Path>ferry.min.js and ClientScriptPath.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.client != nil {
		if name, ok := strings.CutPrefix(r.URL.Path, s.opts.Path); ok && strings.HasPrefix(name, "ferry.") {
			s.client.ServeHTTP(w, r)
			return
		}
	}
	s.engine.ServeHTTP(w, r)
}

// Of returns the namespace with the given name, creating it if needed. A
// name without a leading slash gets one.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	nsp, ok := s.namespaces[name]
	if !ok {
		nsp = newNamespace(s, name, nil)
		s.namespaces[name] = nsp
	}
	return nsp
}

// OfFunc declares dynamic namespaces: a client may connect to any name for
// which match returns true. It returns the parent namespace: middleware,
// connection handlers and broadcasts set on it apply to every child
// namespace it creates.
func (s *Server) OfFunc(match func(name string) bool) *Namespace {
	parent := newNamespace(s, "", match)
	s.mu.Lock()
	s.dynamic = append(s.dynamic, parent)
	s.mu.Unlock()
	return parent
}

// OfRegexp is OfFunc for names matching re.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.OfFunc(re.MatchString)
}

// lookup returns the namespace a client asked for, creating a dynamic
// child if a parent matches, or nil.
func (s *Server) lookup(name string) *Namespace {
	s.mu.RLock()
	nsp := s.namespaces[name]
	dynamic := s.dynamic
	s.mu.RUnlock()
	if nsp != nil {
		return nsp
	}
	for _, parent := range dynamic {
		if parent.match(name) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if nsp := s.namespaces[name]; nsp != nil {
				return nsp
			}
			child := newNamespace(s, name, nil)
			child.parent = parent
			parent.addChild(child)
			s.namespaces[name] = child
			return child
		}
	}
	return nil
}

// OnConnection adds a connection handler to the main namespace.
func (s *Server) OnConnection(h func(*Socket)) { s.Of("/").OnConnection(h) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.Of("/").Use(m) }

// Emit sends an event to every socket in the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// To selects sockets of the main namespace in any of rooms.
func (s *Server) To(rooms ...string) Broadcast { return s.Of("/").To(rooms...) }

// Except selects sockets of the main namespace in none of rooms.
func (s *Server) Except(rooms ...string) Broadcast { return s.Of("/").Except(rooms...) }

// Close disconnects every socket with ReasonServerShuttingDown and closes
// every connection at once. New connections are refused. It returns
// ErrServerClosed after the first call.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return ErrServerClosed
	}
	s.disconnectAll()
	s.engine.Close()
	s.closeAdapters()
	return nil
}

// Shutdown disconnects every socket with ReasonServerShuttingDown, then
// closes every connection gracefully: what is queued is written first. It
// waits until all connections are closed or ctx is done. Clients see the
// transport close and reconnect, to this server's successor for instance.
// It returns ErrServerClosed after the first call.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.closed.Swap(true) {
		return ErrServerClosed
	}
	s.disconnectAll()
	err := s.engine.Shutdown(ctx)
	s.closeAdapters()
	return err
}

func (s *Server) allNamespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Namespace, 0, len(s.namespaces))
	for _, nsp := range s.namespaces {
		out = append(out, nsp)
	}
	return out
}

func (s *Server) disconnectAll() {
	for _, nsp := range s.allNamespaces() {
		for _, sock := range nsp.localSockets() {
			sock.onClose(ReasonServerShuttingDown)
		}
	}
}

func (s *Server) closeAdapters() {
	for _, nsp := range s.allNamespaces() {
		if err := nsp.adapter.Close(); err != nil {
			s.logger.Warn("closing adapter", "namespace", nsp.name, "err", err)
		}
	}
}
