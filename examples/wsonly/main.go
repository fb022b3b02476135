// Command wsonly is a WebSocket-only Ferry example: a counter shared by
// everyone on the page. The server enables only the "websocket" transport
// (Options.Transports) and the page connects with
// ferry.connect({ websocketOnly: true }), so no HTTP long-polling request is
// ever made; a client that tries long-polling is refused with Engine.IO
// error code 0, "Transport unknown".
//
//	go run ./wsonly                   # http://127.0.0.1:3001
//
// It uses only net/http's ServeMux, and stops gracefully on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ferryio/ferry"
)

// web holds the page and its script and style sheet.
//
//go:embed web
var web embed.FS

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:3001", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("listening", "addr", *addr, "err", err)
		os.Exit(1)
	}
	if err := serve(ctx, ln, logger); err != nil {
		logger.Error("wsonly stopped", "err", err)
		os.Exit(1)
	}
}

// serve runs the example on ln until ctx is done, then shuts down: the
// Ferry server first (it closes the hijacked WebSocket connections, which
// http.Server.Shutdown does not track), then the HTTP server.
func serve(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	a := newApp(logger)
	hs := &http.Server{
		Handler: a,
		// Timeouts that bound slow clients without cutting long-polls,
		// which are held up to the ping interval (25 s): see Deployment
		// in the repository's README.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logger.Info("wsonly listening", "url", "http://"+ln.Addr().String()+"/")

	select {
	case err := <-served:
		a.ferry.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	ferryErr := a.ferry.Shutdown(sctx)
	httpErr := hs.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		httpErr = errors.Join(httpErr, err)
	}
	return errors.Join(ferryErr, httpErr)
}

// app is the shared counter: an http.Handler serving the page at / and the
// WebSocket-only Socket.IO endpoint at /socket.io/.
type app struct {
	http.Handler
	ferry *ferry.Server
	log   *slog.Logger

	mu      sync.Mutex
	count   int64               // guarded by mu
	sockets map[string]struct{} // guarded by mu: ids of connected sockets
}

// errStep answers an "add" whose step is not +1 or -1.
var errStep = errors.New("step must be +1 or -1")

func newApp(logger *slog.Logger) *app {
	a := &app{log: logger, sockets: make(map[string]struct{})}
	a.ferry = ferry.NewServer(&ferry.Options{
		Transports: []string{"websocket"},
		Logger:     logger,
	})
	a.ferry.OnConnection(a.onConnection)

	assets, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree always has a web folder
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", a.ferry)
	mux.Handle("/", http.FileServerFS(assets))
	a.Handler = mux
	return a
}

// onConnection sends a new socket the count, tells everyone how many are
// online, and handles "add" (a step of +1 or -1, acknowledged with the new
// count, which everyone receives as "count").
func (a *app) onConnection(s *ferry.Socket) {
	ferry.HandleAck(s, "add", a.add)
	s.OnDisconnect(func(s *ferry.Socket, _ ferry.DisconnectReason) {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.sockets, s.ID())
		a.broadcastLocked("online", len(a.sockets))
	})

	a.mu.Lock()
	defer a.mu.Unlock()
	// A socket that is already gone (its disconnect handler may have run
	// before it was registered) is not counted.
	if !s.Connected() {
		return
	}
	a.sockets[s.ID()] = struct{}{}
	if err := s.Emit("count", a.count); err != nil && !errors.Is(err, ferry.ErrDisconnected) {
		a.log.Warn("sending the count", "socket", s.ID(), "err", err)
	}
	a.broadcastLocked("online", len(a.sockets))
}

func (a *app) add(s *ferry.Socket, step int) (int64, error) {
	if step != 1 && step != -1 {
		return 0, errStep
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.count += int64(step)
	a.broadcastLocked("count", a.count)
	return a.count, nil
}

// broadcastLocked sends an event to every socket. Holding mu keeps the
// values every client sees in the order they were set.
func (a *app) broadcastLocked(event string, v any) {
	if err := a.ferry.Emit(event, v); err != nil {
		a.log.Warn("broadcast", "event", event, "err", err)
	}
}
