// Command chat is Ferry's example chat: rooms, presence, a typing
// indicator, delivery acks, a badge that shows the live transport switch
// from long-polling to WebSocket, and connection state recovery (a page
// back within two minutes gets every message it missed). Everything it
// serves is embedded.
//
//	go run ./chat                     # http://127.0.0.1:3000
//	go run ./chat -addr :8080
//
// Open the page with ?transport=polling or ?transport=websocket to force
// the browser's transport. It stops gracefully on SIGINT or SIGTERM, says
// "chat stopped" and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferryio/ferry/examples/chat/chatserver"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
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
		logger.Error("chat stopped", "err", err)
		os.Exit(1)
	}
	logger.Info("chat stopped")
}

// serve runs the chat on ln until ctx is done, then shuts down gracefully:
// first the Ferry server (clients are told, connections flushed and
// closed, parked long-polls answered), then the HTTP server.
func serve(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	app := chatserver.New(logger)
	hs := &http.Server{
		Handler: app,
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
	logger.Info("chat listening", "url", "http://"+ln.Addr().String()+"/")

	select {
	case err := <-served:
		app.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	ferryErr := app.Shutdown(sctx)
	httpErr := hs.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		httpErr = errors.Join(httpErr, err)
	}
	return errors.Join(ferryErr, httpErr)
}
