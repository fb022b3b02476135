package adminui

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryio/ferry"
)

// ErrClosed is returned by Instrumentation.Close after the first call.
var ErrClosed = errors.New("adminui: instrumentation closed")

// actionTimeout bounds what one message of the UI makes the server do
// across servers: fetching the sockets, joining, leaving, disconnecting.
const actionTimeout = 10 * time.Second

// The features the server announces to the UI in its config event, which
// decide what the UI offers.
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMultiJoin        = "MJOIN"
	featureMultiLeave       = "MLEAVE"
	featureMultiDisconnect  = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// Instrumentation is a server made visible to the Admin UI; see
// Instrument. Its methods are safe for concurrent use.
type Instrumentation struct {
	srv      *ferry.Server
	admin    *ferry.Namespace
	opts     Options
	logger   *slog.Logger
	features []string
	started  time.Time
	events   eventBuffer
	conns    connTracker

	closed atomic.Bool
	stop   chan struct{} // closed by Close: the stats loop ends
	done   chan struct{} // closed when the stats loop has ended

	mu sync.Mutex
	// watched is guarded by mu: for each namespace instrumented, the
	// functions removing its handlers.
	watched       map[*ferry.Namespace][]func()
	offNamespaces func() // guarded by mu: removes the OnNamespace handler
}

// Instrument makes srv visible to socket.io's Admin UI (the npm package
// @socket.io/admin-ui 0.5, whose instrument function it stands for): it
// serves the UI on the namespace Options.NamespaceName, checks the UI's
// credentials there, sends it the server's stats every
// Options.ServerStatsInterval and, in Development mode, every socket of
// every namespace with its rooms, and each connection, disconnection, room
// change and event as it happens; it carries out the UI's actions:
// disconnecting sockets, making them join and leave rooms, emitting to
// them.
//
// Point the UI (the hosted one, or the package's ui/dist served anywhere)
// at the server's URL, with the server's path and parser: the UI is a
// socket.io-client that connects from its own origin, with credentials, so
// the server's Options.CORS must allow that origin with AllowCredentials.
//
// Sockets are seen from the moment Instrument returns, in every namespace,
// dynamic children included; connections are counted once one of their
// sockets connects, or from their handshake with an Options.Meter, which
// also counts packets and bytes. Rooms are seen through Namespace.OnJoinRoom. A server
// sharing an adapter with others sends its stats and events to the UIs
// connected to any of them, as the npm package does.
//
// Call Instrument once per server, before or after clients connect, and
// Close before closing the server: it ends the goroutine that sends the
// stats.
func Instrument(srv *ferry.Server, opts *Options) (*Instrumentation, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	i := &Instrumentation{
		srv:     srv,
		opts:    o,
		logger:  o.Logger,
		started: time.Now(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		watched: make(map[*ferry.Namespace][]func()),
	}
	i.conns.init(&i.events)
	if !o.ReadOnly {
		i.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect,
			featureMultiJoin, featureMultiLeave, featureMultiDisconnect}
	}
	i.features = append(i.features, featureAggregatedEvents)
	if o.Mode == Development {
		i.features = append(i.features, featureAllEvents)
	}

	i.admin = srv.Of(o.NamespaceName)
	i.admin.Use(i.authenticate)
	i.admin.OnConnection(i.onAdminConnection)
	off := srv.OnNamespace(i.watch)
	i.mu.Lock()
	i.offNamespaces = off
	i.mu.Unlock()

	i.emitStats()
	go i.statsLoop()
	return i, nil
}

// Close stops sending stats and events, disconnects the Admin UIs
// connected to this server, refuses those that connect later, and removes
// the handlers Instrument added; the admin namespace itself stays, as
// every namespace does. It returns ErrClosed after the first call.
func (i *Instrumentation) Close() error {
	if i.closed.Swap(true) {
		return ErrClosed
	}
	close(i.stop)
	<-i.done
	i.mu.Lock()
	offs := []func(){i.offNamespaces}
	for _, fs := range i.watched {
		offs = append(offs, fs...)
	}
	i.watched = nil
	i.mu.Unlock()
	for _, off := range offs {
		off()
	}
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	return i.admin.Local().DisconnectSockets(ctx, false)
}

// emit sends an event to every Admin UI, on every server.
func (i *Instrumentation) emit(event string, args ...any) {
	if err := i.admin.Emit(event, args...); err != nil {
		i.logger.Warn("adminui: sending to the Admin UI failed", "event", event, "err", err)
	}
}

// onAdminConnection sets up an Admin UI that connected: its actions, the
// server's config and, in Development mode, every socket.
func (i *Instrumentation) onAdminConnection(s *ferry.Socket) {
	if i.closed.Load() {
		s.Disconnect(false)
		return
	}
	if !i.opts.ReadOnly {
		i.handleActions(s)
	}
	s.Emit("config", map[string]any{"supportedFeatures": i.features})
	if i.opts.Mode == Development {
		s.Emit("all_sockets", i.allSockets())
	}
}

// allSockets describes every socket of every namespace, on every server.
func (i *Instrumentation) allSockets() []socketInfo {
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	out := []socketInfo{}
	for _, nsp := range i.srv.Namespaces() {
		sockets, err := nsp.FetchSockets(ctx)
		if err != nil {
			i.logger.Warn("adminui: fetching sockets failed", "namespace", nsp.Name(), "err", err)
		}
		for _, rs := range sockets {
			out = append(out, describeRemote(nsp, rs))
		}
	}
	return out
}
