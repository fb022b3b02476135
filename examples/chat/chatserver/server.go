package chatserver

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/metrics"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// web holds the page (index.html, a template), its script, style sheet and
// icon. The Ferry server serves the client library itself; the page loads it
// from Server.ClientScriptPath, a name that changes with the bundle, so
// browsers may cache it for good.
//
//go:embed web
var web embed.FS

// recoveryWindow is how long a page that lost its connection may come back
// as the same member, with the messages it missed.
const recoveryWindow = 2 * time.Minute

// Server is the chat application: an http.Handler serving the page at /,
// its assets under /static/, the Socket.IO endpoint under /socket.io/ and
// Prometheus metrics (Ferry's and the Go runtime's) at /metrics.
type Server struct {
	handler http.Handler
	ferry   *ferry.Server
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	members map[string]*member // guarded by mu: by socket id
	rooms   map[string]*room   // guarded by mu: by name
	lastID  uint64             // guarded by mu: id of the newest message
}

// Options configures a chat Server. A nil *Options, or a zero field,
// gives the default.
type Options struct {
	// Logger receives the chat's logs. Default slog.Default().
	Logger *slog.Logger
	// Adapter builds the adapters of the chat's Ferry server (see
	// ferry.Options.Adapter). A Redis adapter lets several chat servers
	// share rooms: messages and the typing indicator then reach the room's
	// members on every server, while presence and the room list stay each
	// server's own. Default nil: Ferry's in-memory adapter, one server.
	Adapter func(*ferry.Namespace) ferry.Adapter
	// Relay lets several chat servers serve each other's connections, so
	// that a load balancer in front of them needs no sticky sessions (see
	// ferry.Options.Relay). Default nil: each connection's requests must
	// reach the server that holds it.
	Relay *ferry.RelayOptions
}

// New returns a chat server logging to logger (nil means slog.Default()).
func New(logger *slog.Logger) *Server { return NewWithOptions(&Options{Logger: logger}) }

// NewWithOptions returns a chat server configured by opts.
func NewWithOptions(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		log:     logger,
		now:     time.Now,
		members: make(map[string]*member),
		rooms:   make(map[string]*room),
	}
	for _, name := range fixedRooms() {
		s.rooms[name] = newRoom(name, true)
	}
	col := metrics.New(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(col, collectors.NewGoCollector())
	s.ferry = ferry.NewServer(&ferry.Options{
		// Chat messages are small: refuse anything larger than 64 KiB.
		MaxHTTPBufferSize: 64 << 10,
		Adapter:           o.Adapter,
		Relay:             o.Relay,
		Logger:            logger,
		// A page that loses its connection for a while (a train tunnel, a
		// laptop lid, a flaky Wi-Fi) comes back as the same member and
		// gets every message it missed, not just the room's history.
		ConnectionStateRecovery: &ferry.RecoveryOptions{MaxDisconnectionDuration: recoveryWindow},
		Observer:                col.Observer(),
	})
	s.ferry.OnConnection(s.onConnection)

	assets, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree always has a web folder
	}
	r := mux.NewRouter()
	r.PathPrefix("/socket.io/").Handler(s.ferry)
	r.Handle("/", page(assets, s.ferry.ClientScriptPath())).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	r.PathPrefix("/static/").
		Handler(http.StripPrefix("/static/", http.FileServerFS(assets))).
		Methods(http.MethodGet, http.MethodHead)
	s.handler = secureHeaders(r)
	return s
}

// ServeHTTP serves the page, its assets and the Socket.IO endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Shutdown disconnects every client, lets their connections flush what is
// queued and waits for them to close, or for ctx to be done. Call it
// before http.Server.Shutdown, which does not wait for hijacked WebSocket
// connections and would wait for parked long-polls.
func (s *Server) Shutdown(ctx context.Context) error { return s.ferry.Shutdown(ctx) }

// Close disconnects every client and closes their connections at once.
func (s *Server) Close() error { return s.ferry.Close() }

// page serves index.html, rendered once with the client script's path.
func page(assets fs.FS, clientScript string) http.Handler {
	tmpl, err := template.ParseFS(assets, "index.html")
	if err != nil {
		panic(err) // the embedded page is part of the build
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ ClientScript string }{clientScript}); err != nil {
		panic(err) // the page uses no field but ClientScript
	}
	body := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(body))
	})
}

// secureHeaders sets headers that keep the page to its own origin: no
// inline scripts, no third-party resources, no framing.
func secureHeaders(next http.Handler) http.Handler {
	const csp = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
		"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}
