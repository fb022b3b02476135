package ferry

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	opts     Options
	recovery *RecoveryOptions // Options.ConnectionStateRecovery with defaults, or nil
	engine   *session.Engine
	codec    parser.Codec
	logger   *slog.Logger
	obs      *Observer         // Options.Observer with no nil fields, or nil
	client   *jsclient.Handler // the bundled JavaScript client, or nil
	closed   atomic.Bool
	burst    transport.Burst // broadcasts being handed out
	// mismatchWarnings limits the warnings about clients using another
	// parser (see Conn.onMismatch).
	mismatchWarnings rateLimit
	// listenerIDs numbers the handlers added, so that each can be removed
	// (see listeners.go).
	listenerIDs atomic.Uint64
	main        *Namespace // "/", which is never removed

	mu         sync.RWMutex
	namespaces map[string]*Namespace // guarded by mu
	dynamic    []*Namespace          // guarded by mu: parents of dynamic namespaces
	// onNamespace is guarded by mu: the OnNamespace handlers,
	// copy-on-write (see listeners.go).
	onNamespace []listener[func(*Namespace)]
	// adaptersClosed is guarded by mu: Close or Shutdown closed the
	// adapters of every namespace then known; one made later is closed as
	// soon as it is made.
	adaptersClosed bool
}

// NewServer returns a Server configured by opts, which may be nil.
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{
		opts:             o,
		codec:            o.Parser,
		logger:           o.Logger,
		obs:              o.Observer.withNoops(),
		namespaces:       make(map[string]*Namespace),
		mismatchWarnings: rateLimit{every: mismatchWarningInterval},
		recovery:         o.ConnectionStateRecovery.withDefaults(),
	}
	s.engine = session.NewEngine(o.engineOptions(s.onSession))
	if !o.DisableClient {
		s.client = newClientHandler()
	}
	s.main = newNamespace(s, "/", nil, nil)
	s.namespaces["/"] = s.main
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
// name without a leading slash gets one. A dynamic child that Of returned
// is kept while empty, unless Options.CleanupEmptyChildNamespaces is set.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	use := func(nsp *Namespace) {
		if !nsp.used.Load() { // most calls: Of("/") from Server.Emit and the like
			nsp.used.Store(true)
		}
	}
	s.mu.RLock()
	nsp := s.namespaces[name]
	if nsp != nil {
		use(nsp)
	}
	s.mu.RUnlock()
	if nsp != nil {
		return nsp
	}
	return s.insert(newNamespace(s, name, nil, nil), use)
}

// insert adds nsp, made outside the lock, unless a namespace of that name
// was added meanwhile: then that one is returned, and nsp's adapter
// closed. hold runs on the namespace returned, with mu held.
func (s *Server) insert(nsp *Namespace, hold func(*Namespace)) *Namespace {
	s.mu.Lock()
	if won := s.namespaces[nsp.name]; won != nil {
		hold(won)
		s.mu.Unlock()
		nsp.closeAdapter()
		return won
	}
	s.namespaces[nsp.name] = nsp
	if nsp.parent != nil {
		nsp.parent.addChild(nsp)
	}
	hold(nsp)
	late := s.adaptersClosed
	hooks := s.onNamespace
	s.mu.Unlock()
	if late {
		nsp.closeAdapter()
	}
	for _, h := range hooks {
		h.f(nsp)
	}
	return nsp
}

// OnNamespace adds a handler run once for every namespace (socket.io's
// "new_namespace" event, and its list of namespaces): at once, on the
// caller's goroutine, for each namespace that exists, then for each one
// made later, by Of or as a dynamic child a client asks for, as it is made
// and before the Of call or the connection that made it goes on. Dynamic
// parents (see OfFunc) are not namespaces here; their children are. A
// child removed and made again (see Options.CleanupEmptyChildNamespaces)
// is a new namespace. The handler must not block: a client's connection
// waits for it. It returns a function that removes the handler.
func (s *Server) OnNamespace(h func(*Namespace)) (off func()) {
	l := listener[func(*Namespace)]{h, s.newListenerID(false)}
	s.mu.Lock()
	s.onNamespace = append(s.onNamespace, l)
	existing := s.sortedNamespacesLocked()
	s.mu.Unlock()
	for _, nsp := range existing {
		h(nsp)
	}
	return func() {
		s.mu.Lock()
		s.onNamespace, _ = without(s.onNamespace, l.id)
		s.mu.Unlock()
	}
}

// Namespaces returns the namespaces that exist, sorted by name: "/", those
// made by Of, and the dynamic children that exist (see OfFunc), but not
// dynamic parents.
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sortedNamespacesLocked()
}

func (s *Server) sortedNamespacesLocked() []*Namespace {
	out := make([]*Namespace, 0, len(s.namespaces))
	for _, nsp := range s.namespaces {
		out = append(out, nsp)
	}
	slices.SortFunc(out, func(a, b *Namespace) int { return strings.Compare(a.name, b.name) })
	return out
}

// OfFunc declares dynamic namespaces: a client may connect to any name for
// which match returns true. It returns the parent namespace: middleware,
// connection handlers and broadcasts set on it apply to every child
// namespace it creates. match runs on the connection's read goroutine,
// like the middleware.
func (s *Server) OfFunc(match func(name string) bool) *Namespace {
	parent := newNamespace(s, "", match, nil)
	s.mu.Lock()
	s.dynamic = append(s.dynamic, parent)
	late := s.adaptersClosed
	s.mu.Unlock()
	if late {
		parent.closeAdapter()
	}
	return parent
}

// OfRegexp is OfFunc for names matching re.
func (s *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	return s.OfFunc(re.MatchString)
}

// lookup returns the namespace a client asked for, creating a dynamic
// child if a parent matches, or nil. The namespace returned counts the
// connection as joining until the caller calls doneJoining.
func (s *Server) lookup(name string) *Namespace {
	join := func(nsp *Namespace) { nsp.joining.Add(1) }
	s.mu.RLock()
	nsp := s.namespaces[name]
	if nsp != nil {
		join(nsp)
	}
	dynamic := s.dynamic
	s.mu.RUnlock()
	if nsp != nil {
		return nsp
	}
	for _, parent := range dynamic {
		if parent.match(name) {
			return s.insert(newNamespace(s, name, nil, parent), join)
		}
	}
	return nil
}

// doneJoining ends a connection's join of nsp (see lookup): a dynamic child
// left idle is removed.
func (s *Server) doneJoining(nsp *Namespace) {
	nsp.joining.Add(-1)
	if nsp.parent != nil {
		s.dropIfIdle(nsp)
	}
}

// dropIfIdle removes the dynamic child nsp if no connection is joining it
// and it is idle (see Namespace.idle), and closes its adapter.
func (s *Server) dropIfIdle(nsp *Namespace) {
	s.mu.Lock()
	if s.namespaces[nsp.name] != nsp || nsp.joining.Load() != 0 || !nsp.idle(s.opts.CleanupEmptyChildNamespaces) {
		s.mu.Unlock()
		return
	}
	delete(s.namespaces, nsp.name)
	nsp.parent.removeChild(nsp)
	// Once the server has closed the adapters, this one is closed already.
	open := !s.adaptersClosed
	s.mu.Unlock()
	if open {
		nsp.closeAdapter()
	}
}

// OnConnection adds a connection handler to the main namespace; see
// Namespace.OnConnection.
func (s *Server) OnConnection(h func(*Socket)) (off func()) { return s.main.OnConnection(h) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.main.Use(m) }

// Emit sends an event to every socket in the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.main.Emit(event, args...) }

// EmitWithAck sends an event to every socket in the main namespace and
// collects their acks; see Broadcast.EmitWithAck.
func (s *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.main.EmitWithAck(ctx, event, args...)
}

// EmitWithAckFunc sends an event to every socket in the main namespace and
// hands their acks to f; see Broadcast.EmitWithAckFunc.
func (s *Server) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(acks []Args, err error)) error {
	return s.main.EmitWithAckFunc(ctx, event, args, f)
}

// To selects sockets of the main namespace in any of rooms.
func (s *Server) To(rooms ...string) Broadcast { return s.main.To(rooms...) }

// In is the same as To.
func (s *Server) In(rooms ...string) Broadcast { return s.main.To(rooms...) }

// Compress returns a Broadcast over the main namespace whose events are
// compressed only if compress is true; see Broadcast.Compress.
func (s *Server) Compress(compress bool) Broadcast { return s.Of("/").Compress(compress) }

// Except selects sockets of the main namespace in none of rooms.
func (s *Server) Except(rooms ...string) Broadcast { return s.main.Except(rooms...) }

// Local selects the sockets of the main namespace connected to this
// server.
func (s *Server) Local() Broadcast { return s.main.Local() }

// Volatile selects every socket of the main namespace, skipping those not
// ready to receive; see Broadcast.Volatile.
func (s *Server) Volatile() Broadcast { return s.main.Volatile() }

// Timeout selects every socket of the main namespace, for an EmitWithAck
// that stops waiting after d; see Broadcast.Timeout.
func (s *Server) Timeout(d time.Duration) Broadcast { return s.main.Timeout(d) }

// FetchSockets returns the sockets of the main namespace, on every server;
// see Broadcast.FetchSockets.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.main.FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms, on
// every server.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.main.SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace leave rooms, on
// every server.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.main.SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace, on
// every server; with close, their connections are closed too.
func (s *Server) DisconnectSockets(ctx context.Context, close bool) error {
	return s.main.DisconnectSockets(ctx, close)
}

// SocketCount returns the number of sockets in the main namespace, on
// every server; see Broadcast.SocketCount.
func (s *Server) SocketCount(ctx context.Context) (int, error) { return s.main.SocketCount(ctx) }

// ServerSideEmit sends an event to the main namespace's server-side
// handlers on the other servers; see Namespace.ServerSideEmit.
func (s *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return s.main.ServerSideEmit(ctx, event, args...)
}

// ServerSideEmitWithAck is ServerSideEmit that waits for the other
// servers' acks; see Namespace.ServerSideEmitWithAck.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.main.ServerSideEmitWithAck(ctx, event, args...)
}

// OnServerSideEmit adds a handler for an event other servers send to the
// main namespace with ServerSideEmit; see Namespace.OnServerSideEmit.
func (s *Server) OnServerSideEmit(event string, h func(e *Event)) (off func()) {
	return s.main.OnServerSideEmit(event, h)
}

// ConnCount returns the number of clients connected to this server
// (socket.io's io.engine.clientsCount): their Engine.IO connections, each
// counted once however many namespaces it joined, including those that
// have joined none yet. A connection closing gracefully counts until its
// last packets are written.
func (s *Server) ConnCount() int { return s.engine.Count() }

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

// closeAdapters closes the adapter of every namespace, dynamic parents
// included. A namespace made later has its adapter closed as it is made.
func (s *Server) closeAdapters() {
	s.mu.Lock()
	s.adaptersClosed = true
	all := make([]*Namespace, 0, len(s.namespaces)+len(s.dynamic))
	for _, nsp := range s.namespaces {
		all = append(all, nsp)
	}
	all = append(all, s.dynamic...)
	s.mu.Unlock()
	for _, nsp := range all {
		nsp.closeAdapter()
	}
}
