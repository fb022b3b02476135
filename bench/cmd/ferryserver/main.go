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
//	"paced" room m size intervalUs
//	                 acks the time the first of m "tick" events to room
//	                 is due (Unix microseconds, one interval from now),
//	                 then broadcasts them one every intervalUs
//	                 microseconds, each carrying the time it was due
//	                 and a string of size bytes
//
// GET /stats returns {"goroutines","rss","heap_inuse"} as JSON.
//
// -deflate turns on WebSocket compression (Options.PerMessageDeflate,
// threshold 1024), at -deflate-level (default flate.BestSpeed).
//
// -ping-interval sets Options.PingInterval (default socket.io's 25s), so
// that fewer connections make as many heartbeats as more would at 25s.
//
// Profiling: -cpuprofile FILE profiles from start to stop, or with
// -profile-on-signal from SIGUSR1 to SIGUSR2 (the load tool's
// -signal-profile sends them around each measurement); -trace FILE writes
// an execution trace (runtime/trace) over the same span; -memprofile FILE
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
	"runtime/trace"
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
	tracefile := flag.String("trace", "", "write an execution trace to this file")
	onSignal := flag.Bool("profile-on-signal", false, "with -cpuprofile or -trace: profile from SIGUSR1 to SIGUSR2 only")
	memprofile := flag.String("memprofile", "", "write a heap profile to this file when stopping")
	withPprof := flag.Bool("pprof", false, "serve net/http/pprof under /debug/pprof/")
	deflate := flag.Bool("deflate", false, "WebSocket compression (permessage-deflate)")
	deflateLevel := flag.Int("deflate-level", 0, "with -deflate: compress/flate level (0: Ferry's default, flate.BestSpeed)")
	parserName := flag.String("parser", "msgpack", "Socket.IO parser: msgpack or json")
	pingInterval := flag.Duration("ping-interval", 0, "Engine.IO ping interval (0: socket.io's default, 25s)")
	flag.Parse()
	opts := &ferry.Options{
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		PingInterval: *pingInterval,
	}
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
	if err := run(*addr, opts, *cpuprofile, *tracefile, *onSignal, *memprofile, *withPprof); err != nil {
		fmt.Fprintln(os.Stderr, "ferryserver:", err)
		os.Exit(1)
	}
}

func run(addr string, opts *ferry.Options, cpuprofile, tracefile string, onSignal bool, memprofile string, withPprof bool) error {
	if cpuprofile != "" || tracefile != "" {
		stop, err := profile(cpuprofile, tracefile, onSignal)
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

// profile starts CPU profiling into cpuPath and tracing into tracePath
// (either may be empty), at once or (onSignal) from SIGUSR1 to SIGUSR2, and
// returns the function that ends them.
func profile(cpuPath, tracePath string, onSignal bool) (stop func(), err error) {
	var cpuFile, traceFile *os.File
	closeFiles := func() {
		for _, f := range []*os.File{cpuFile, traceFile} {
			if f != nil {
				f.Close()
			}
		}
	}
	if cpuPath != "" {
		if cpuFile, err = os.Create(cpuPath); err != nil {
			return nil, err
		}
	}
	if tracePath != "" {
		if traceFile, err = os.Create(tracePath); err != nil {
			closeFiles()
			return nil, err
		}
	}
	// begin and end fail harmlessly when already on, or off.
	begin := func() error {
		if cpuFile != nil {
			if err := rpprof.StartCPUProfile(cpuFile); err != nil {
				return err
			}
		}
		if traceFile != nil {
			return trace.Start(traceFile)
		}
		return nil
	}
	end := func() {
		rpprof.StopCPUProfile()
		trace.Stop()
	}
	if !onSignal {
		if err := begin(); err != nil {
			end()
			closeFiles()
			return nil, err
		}
		return func() { end(); closeFiles() }, nil
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
					begin()
				} else {
					end()
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
		end()
		closeFiles()
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
	s.On("paced", func(e *ferry.Event) {
		var room string
		var m, size, intervalUs int
		if err := e.Decode(&room, &m, &size, &intervalUs); err != nil || intervalUs <= 0 {
			logger.Warn("paced: bad arguments", "err", err, "interval_us", intervalUs)
			return
		}
		interval := time.Duration(intervalUs) * time.Microsecond
		start := time.Now().Add(interval)
		e.Ack(start.UnixMicro())
		go paced(srv.To(room), start, interval, m, strings.Repeat("x", size), logger)
	})
}

// paced broadcasts m "tick" events with to, the i-th when it is due, at
// start + i*interval, carrying its due time. A broadcast that falls behind
// is sent at once, with the time it was due.
func paced(to ferry.Broadcast, start time.Time, interval time.Duration, m int, payload string, logger *slog.Logger) {
	for i := range m {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if err := to.Emit("tick", due.UnixMicro(), payload); err != nil {
			logger.Warn("paced: emit", "err", err)
			return
		}
	}
}
