// Command ferryserver is the Ferry side of the benchmark: a Ferry server
// (msgpack parser, socket.io's defaults) with the benchmark application.
// With -parser json it uses the JSON parser instead.
// It listens on 127.0.0.1 with an OS-picked port, prints the port as the
// first line of stdout, and runs until SIGTERM or SIGINT.
//
// The application, the same in bench/node/server.mjs:
//
//	"echo" arg       acks arg back, unchanged
//	"join" room      joins room, then acks
//	"fanout" room m size
//	                 broadcasts m "tick" events to room, each carrying the
//	                 send time (Unix microseconds) and a string of size
//	                 bytes, then acks m
//
// GET /stats returns {"goroutines","rss","heap_inuse"} as JSON.
//
// -deflate turns on WebSocket compression (Options.PerMessageDeflate,
// threshold 1024), at -deflate-level (default flate.BestSpeed).
//
// Profiling: -cpuprofile FILE profiles from start to stop, or with
// -profile-on-signal from SIGUSR1 to SIGUSR2 (the load tool's
// -signal-profile sends them around each measurement); -memprofile FILE
// writes a heap profile when the server stops; -pprof mounts
// net/http/pprof under /debug/pprof/.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	rpprof "runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/bench/internal/procstat"
	"github.com/ferryio/ferry/bench/internal/serve"
	"github.com/ferryio/ferry/parser"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	onSignal := flag.Bool("profile-on-signal", false, "with -cpuprofile: profile from SIGUSR1 to SIGUSR2 only")
	memprofile := flag.String("memprofile", "", "write a heap profile to this file when stopping")
	withPprof := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/")
	deflate := flag.Bool("deflate", false, "WebSocket compression (permessage-deflate)")
	deflateLevel := flag.Int("deflate-level", 0, "with -deflate: compress/flate level (0: Ferry's default, flate.BestSpeed)")
	parserName := flag.String("parser", "msgpack", "Socket.IO parser: msgpack or json")
	flag.Parse()
	opts := &ferry.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if *deflate {
		opts.PerMessageDeflate = &ferry.DeflateOptions{Level: *deflateLevel}
	}
	switch *parserName {
	case "msgpack":
		opts.Parser = parser.Msgpack()
	case "json":
		opts.Parser = parser.JSON()
	default:
		fmt.Fprintf(os.Stderr, "ferryserver: -parser %q: want msgpack or json\n", *parserName)
		os.Exit(2)
	}
	if err := run(*addr, opts, *cpuprofile, *onSignal, *memprofile, *withPprof); err != nil {
		fmt.Fprintln(os.Stderr, "ferryserver:", err)
		os.Exit(1)
	}
}

func run(addr string, opts *ferry.Options, cpuprofile string, onSignal bool, memprofile string, withPprof bool) error {
	if cpuprofile != "" {
		stop, err := profileCPU(cpuprofile, onSignal)
		if err != nil {
			return err
		}
		defer stop()
	}
	logger := opts.Logger
	srv := ferry.NewServer(opts)
	defer srv.Close()
	srv.OnConnection(func(s *ferry.Socket) { handle(srv, s, logger) })

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/stats", procstat.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if err := serve.Run(addr, mux, os.Stdout); err != nil {
		return err
	}
	if memprofile != "" {
		f, err := os.Create(memprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		return rpprof.WriteHeapProfile(f)
	}
	return nil
}

// profileCPU starts CPU profiling into path, at once or (onSignal) from
// SIGUSR1 to SIGUSR2, and returns the function that ends it.
func profileCPU(path string, onSignal bool) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if !onSignal {
		if err := rpprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		return func() { rpprof.StopCPUProfile(); f.Close() }, nil
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGUSR1 {
					rpprof.StartCPUProfile(f) // fails harmlessly if already on
				} else {
					rpprof.StopCPUProfile()
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-ended
		rpprof.StopCPUProfile()
		f.Close()
	}, nil
}

// handle registers the benchmark application's events on a new socket.
func handle(srv *ferry.Server, s *ferry.Socket, logger *slog.Logger) {
	s.On("echo", func(e *ferry.Event) {
		if len(e.Args) == 0 {
			e.Ack()
			return
		}
		e.Ack(e.Args[0])
	})
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
