// Command load is the benchmark's load tool. It starts a server under
// test (a fresh process for each scenario variant), drives scenarios
// against it over loopback, and prints one JSON line per variant:
//
//	load -server ferry -cmd 'bin/ferryserver' [-scenarios connect,idle,echo,fanout,paced,polling] [sizes...]
//	load -server raw -proto raw -cmd 'bin/rawserver'
//	load -server node -cmd 'node node/server.mjs'
//
// With -table FILE it instead reads such JSON lines and prints the
// comparison table (Ferry/Node and Ferry/raw ratios, and the targets).
//
// The command must print its port as the first line of stdout. -pin CPUS
// runs it under `taskset -c CPUS`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/ferryio/ferry/bench/internal/load"
	"github.com/ferryio/ferry/bench/internal/procstat"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		if errors.Is(err, load.ErrScenarioFailed) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run() error {
	p := load.DefaultParams()
	var (
		name      = flag.String("server", "", "server name for the results: ferry, node, raw")
		command   = flag.String("cmd", "", "command starting the server (split on spaces)")
		dir       = flag.String("dir", "", "working directory of the server command")
		proto     = flag.String("proto", "socketio", "protocol the server speaks: socketio or raw")
		pin       = flag.String("pin", "", "run the server under taskset -c with this CPU list")
		scenarios = flag.String("scenarios", strings.Join(load.Scenarios(), ","), "scenarios to run, comma-separated")
		idle      = flag.String("idle-n", joinInts(p.IdleN), "idle scenario connection counts, comma-separated")
		windows   = flag.String("echo-windows", joinInts(p.EchoWindows), "echo scenario: events in flight per client, one variant each, comma-separated")
		rates     = flag.String("paced-rates", joinInts(p.PacedRates), "paced scenario: broadcasts per second, one variant each, comma-separated")
		table     = flag.String("table", "", "print the comparison table of this JSON-lines file and exit")
		profile   = flag.String("cpuprofile", "", "write the load tool's own CPU profile to this file")
	)
	flag.IntVar(&p.ConnectN, "connect-n", p.ConnectN, "connect scenario: connections")
	flag.IntVar(&p.ConnectConcurrency, "concurrency", p.ConnectConcurrency, "connections opened at a time")
	flag.DurationVar(&p.Settle, "settle", p.Settle, "idle scenario: wait before reading memory")
	flag.DurationVar(&p.IdleCPUWindow, "idle-cpu-window", p.IdleCPUWindow, "idle scenario: then measure the server's CPU (heartbeats) over this window; 0: not measured")
	flag.IntVar(&p.EchoClients, "echo-clients", p.EchoClients, "echo scenario: clients")
	flag.IntVar(&p.PollClients, "poll-clients", p.PollClients, "polling scenario: clients")
	flag.DurationVar(&p.Warmup, "warmup", p.Warmup, "echo, paced and polling: unmeasured warm-up")
	flag.DurationVar(&p.Duration, "duration", p.Duration, "echo, paced and polling: measured time")
	flag.IntVar(&p.Payload, "payload", p.Payload, "echo argument and fanout message size, bytes")
	flag.IntVar(&p.FanoutN, "fanout-n", p.FanoutN, "fanout scenario: clients in the room")
	flag.IntVar(&p.FanoutM, "fanout-m", p.FanoutM, "fanout scenario: messages broadcast")
	flag.IntVar(&p.PacedN, "paced-n", p.PacedN, "paced scenario: clients in the room")
	flag.DurationVar(&p.Timeout, "timeout", p.Timeout, "bound on each scenario variant")
	flag.DurationVar(&p.QuietBudget, "quiet-budget", p.QuietBudget, "total time to spend waiting for idle CPUs before variants and rerunning disturbed ones")
	flag.Float64Var(&p.MaxOtherCPU, "max-other-cpu", p.MaxOtherCPU, "rerun a variant during which other processes used more than this share of a core")
	flag.IntVar(&p.Retries, "retries", p.Retries, "reruns allowed per variant (see -max-other-cpu and -quiet-budget)")
	flag.BoolVar(&p.SignalProfile, "signal-profile", false, "send the server SIGUSR1/SIGUSR2 at the start/end of each measurement (for ferryserver -profile-on-signal)")
	flag.IntVar(&p.SourcePerAddr, "per-source", p.SourcePerAddr, "connections per loopback source address (0: ephemeral range less 1024)")
	flag.Parse()

	if *table != "" {
		return printTable(*table)
	}
	if *name == "" || *command == "" {
		return errors.New("-server and -cmd are required (or -table)")
	}
	var err error
	if p.IdleN, err = parseInts(*idle); err != nil {
		return fmt.Errorf("-idle-n: %w", err)
	}
	if p.EchoWindows, err = parseInts(*windows); err != nil {
		return fmt.Errorf("-echo-windows: %w", err)
	}
	if p.PacedRates, err = parseInts(*rates); err != nil {
		return fmt.Errorf("-paced-rates: %w", err)
	}
	s := load.Server{Name: *name, Command: strings.Fields(*command), Dir: *dir}
	switch *proto {
	case "socketio":
		s.Protocol = load.SocketIO
	case "raw":
		s.Protocol = load.Raw
	default:
		return fmt.Errorf("-proto %q: want socketio or raw", *proto)
	}
	if *pin != "" {
		s.Command = append([]string{"taskset", "-c", *pin}, s.Command...)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if _, err := procstat.RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return load.Run(ctx, s, strings.Split(*scenarios, ","), p, os.Stdout)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func printTable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return load.Table(f, os.Stdout)
}
