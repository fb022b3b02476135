// Command ferrycluster is the Ferry side of the cluster benchmark
// (bench/run-cluster): a Ferry server (msgpack parser, socket.io's
// defaults) on the classic Redis adapter (redisadapter.New, the protocol
// of @socket.io/redis-adapter's createAdapter), running the application of
// bench/node/clusterserver.mjs. Two of them share one Redis.
//
//	ferrycluster -redis 127.0.0.1:6379
//
// It listens on 127.0.0.1 with an OS-picked port, prints the port as the
// first line of stdout, and runs until SIGTERM or SIGINT.
//
//	"join" room      joins room, then acks
//	"fanout" room m size
//	                 broadcasts m "tick" events to room, on every server,
//	                 each carrying the send time (Unix microseconds) and a
//	                 string of size bytes, then acks m
//
// GET /stats returns {"goroutines","rss","heap_inuse"} as JSON.
//
// Profiling: -cpuprofile FILE profiles from start to stop, or with
// -profile-on-signal from SIGUSR1 to SIGUSR2 (the load tool's
// -signal-profile sends them around each measurement).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/bench/internal/procstat"
	"github.com/ferryio/ferry/bench/internal/serve"
	"github.com/ferryio/ferry/redisadapter"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	redisAddr := flag.String("redis", "", "Redis address (required)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	onSignal := flag.Bool("profile-on-signal", false, "with -cpuprofile: profile from SIGUSR1 to SIGUSR2 only")
	flag.Parse()
	if err := run(*addr, *redisAddr, *cpuprofile, *onSignal); err != nil {
		fmt.Fprintln(os.Stderr, "ferrycluster:", err)
		os.Exit(1)
	}
}

func run(addr, redisAddr, cpuprofile string, onSignal bool) error {
	if redisAddr == "" {
		return errors.New("-redis is required")
	}
	if cpuprofile != "" {
		stop, err := serve.ProfileCPU(cpuprofile, onSignal)
		if err != nil {
			return err
		}
		defer stop()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	adapters := redisadapter.New(rdb, &redisadapter.Options{Logger: logger})
	srv := ferry.NewServer(&ferry.Options{Adapter: adapters.Adapter, Logger: logger})
	defer func() {
		srv.Close()
		if st := adapters.Stats(); st.PublishErrors > 0 || st.Undecodable > 0 {
			logger.Warn("redis adapter", "published", st.Published, "publish_errors", st.PublishErrors, "received", st.Received, "undecodable", st.Undecodable)
		}
	}()
	srv.OnConnection(func(s *ferry.Socket) { handle(srv, s, logger) })

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/stats", procstat.Handler())
	return serve.Run(addr, mux, os.Stdout)
}

// handle registers the benchmark application's events on a new socket.
func handle(srv *ferry.Server, s *ferry.Socket, logger *slog.Logger) {
	s.On("join", func(e *ferry.Event) {
		var room string
		if err := e.Decode(&room); err != nil {
			logger.Warn("join: bad argument", "err", err)
			return
		}
		s.Join(room)
		e.Ack()
	})
	s.On("fanout", func(e *ferry.Event) {
		var room string
		var m, size int
		if err := e.Decode(&room, &m, &size); err != nil {
			logger.Warn("fanout: bad arguments", "err", err)
			return
		}
		payload := strings.Repeat("x", size)
		to := srv.To(room)
		for range m {
			if err := to.Emit("tick", time.Now().UnixMicro(), payload); err != nil {
				logger.Warn("fanout: emit", "err", err)
				return
			}
		}
		e.Ack(m)
	})
}
