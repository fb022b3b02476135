package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/examples/chat/chatserver"
	"github.com/ferryio/ferry/redisadapter"
)

// shutdownTimeout bounds a chat server's graceful shutdown.
const shutdownTimeout = 10 * time.Second

// serveConfig is the "serve" subcommand's configuration: one chat server
// of the cluster.
type serveConfig struct {
	addr    string // address to listen on
	redis   string // Redis address
	sharded bool   // the sharded adapter (Redis 7 sharded pub/sub) instead of the classic one
}

// parseServe parses the "serve" subcommand's flags.
func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("cluster serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3101", "address to listen on (port 0: any free port)")
	fs.StringVar(&c.redis, "redis", "127.0.0.1:3110", "Redis address")
	fs.BoolVar(&c.sharded, "sharded", false, "use the sharded Redis adapter (sharded pub/sub, Redis 7) instead of the classic one")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cluster serve [-addr host:port] [-redis host:port] [-sharded]")
		fmt.Fprintln(fs.Output(), "Runs one chat server of the cluster; its first line of output is the address it listens on.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, nil
}

// serveChat runs one chat server on Redis until ctx is done, then shuts it
// down gracefully. It writes the address it listens on, and a newline, to
// stdout first.
func serveChat(ctx context.Context, c serveConfig, stdout io.Writer, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: c.redis})
	defer rdb.Close()
	var adapters *redisadapter.Factory
	if c.sharded {
		adapters = redisadapter.NewSharded(rdb, &redisadapter.ShardedOptions{Logger: logger})
	} else {
		adapters = redisadapter.New(rdb, &redisadapter.Options{Logger: logger})
	}
	// The relay lets the servers serve each other's connections: nginx
	// spreads requests with plain round-robin, no sticky sessions.
	relay := redisadapter.NewRelay(rdb, &redisadapter.RelayOptions{Logger: logger})
	app := chatserver.NewWithOptions(&chatserver.Options{
		Logger:  logger,
		Adapter: adapters.Adapter,
		Relay:   &ferry.RelayOptions{Bus: relay},
	})
	hs := &http.Server{
		Handler: app,
		// As in examples/chat: bounds for slow clients that do not cut
		// long-polls (held up to the 25 s ping interval).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if _, err := fmt.Fprintln(stdout, ln.Addr().String()); err != nil {
		_ = app.Close()
		_ = hs.Close()
		<-served
		return err
	}
	logger.Info("chat server listening", "url", "http://"+ln.Addr().String()+"/", "redis", c.redis, "sharded", c.sharded)

	select {
	case err := <-served:
		_ = app.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// The Ferry server first: clients are told, queues flushed, parked
	// long-polls answered; closing it closes its Redis adapters.
	ferryErr := app.Shutdown(sctx)
	httpErr := hs.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		httpErr = errors.Join(httpErr, err)
	}
	st, rs := adapters.Stats(), relay.Stats()
	logger.Info("chat server stopped", "published", st.Published, "received", st.Received, "publish_errors", st.PublishErrors,
		"relayed_out", rs.Published, "relayed_in", rs.Received)
	return errors.Join(ferryErr, httpErr)
}
