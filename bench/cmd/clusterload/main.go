// Command clusterload runs the benchmark's cluster scenario: a fresh
// redis-server and two fresh servers on it, clients split between them, a
// broadcast from one reaching both through Redis. It prints one JSON line:
//
//	clusterload -server ferry -cmd 'bin/ferrycluster -redis {redis}'
//	clusterload -server node -cmd 'node node/clusterserver.mjs {redis}'
//
// "{redis}" in the command becomes Redis's address, "{node}" the server's
// letter (a or b). With -table FILE it instead reads such JSON lines and
// prints the Ferry/Node comparison and the target. -pin CPUS runs each
// server under `taskset -c CPUS`; Redis runs where this command runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/ferryio/ferry/bench/internal/load"
	"github.com/ferryio/ferry/bench/internal/procstat"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterload:", err)
		if errors.Is(err, load.ErrScenarioFailed) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run() error {
	p := load.DefaultParams()
	var (
		name    = flag.String("server", "", "server name for the results: ferry or node")
		command = flag.String("cmd", "", "command starting one server (split on spaces; {redis} and {node} are replaced)")
		dir     = flag.String("dir", "", "working directory of the server command")
		pin     = flag.String("pin", "", "run each server under taskset -c with this CPU list")
		table   = flag.String("table", "", "print the comparison table of this JSON-lines file and exit")
	)
	flag.IntVar(&p.FanoutN, "clients", p.FanoutN, "clients in the room, split evenly between the two servers")
	flag.IntVar(&p.FanoutM, "messages", p.FanoutM, "messages broadcast")
	flag.IntVar(&p.Payload, "payload", p.Payload, "message size, bytes")
	flag.IntVar(&p.ConnectConcurrency, "concurrency", p.ConnectConcurrency, "connections opened at a time")
	flag.DurationVar(&p.Timeout, "timeout", p.Timeout, "bound on the scenario, servers' start included")
	flag.DurationVar(&p.QuietBudget, "quiet-budget", p.QuietBudget, "time to spend waiting for idle CPUs and rerunning a disturbed measurement")
	flag.Float64Var(&p.MaxOtherCPU, "max-other-cpu", p.MaxOtherCPU, "rerun when other processes used more than this share of a core")
	flag.IntVar(&p.Retries, "retries", p.Retries, "reruns allowed (see -max-other-cpu and -quiet-budget)")
	flag.BoolVar(&p.SignalProfile, "signal-profile", false, "send both servers SIGUSR1/SIGUSR2 at the start/end of the measurement (ferrycluster -profile-on-signal)")
	flag.IntVar(&p.SourcePerAddr, "per-source", p.SourcePerAddr, "connections per loopback source address (0: ephemeral range less 1024)")
	flag.Parse()

	if *table != "" {
		f, err := os.Open(*table)
		if err != nil {
			return err
		}
		defer f.Close()
		return load.ClusterTable(f, os.Stdout)
	}
	if *name == "" || *command == "" {
		return errors.New("-server and -cmd are required (or -table)")
	}
	s := load.ClusterServer{Name: *name, Command: strings.Fields(*command), Dir: *dir}
	if *pin != "" {
		s.Command = append([]string{"taskset", "-c", *pin}, s.Command...)
	}
	if _, err := procstat.RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return load.RunCluster(ctx, s, p, os.Stdout)
}
