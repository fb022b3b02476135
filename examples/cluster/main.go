// Command cluster runs the chat example (examples/chat) as a cluster on one
// machine: three chat servers sharing rooms through one Redis, behind one
// nginx. One command starts everything, prints the URLs, and stops
// everything on Ctrl-C.
//
//	scripts/cluster                     # from the repository root
//	go -C examples run ./cluster        # the same, but see below
//
// nginx listens on http://127.0.0.1:3100/, the chat servers on 3101, 3102
// and 3103, and redis-server on 3110; -addr, -server-port, -redis-port and
// -servers change that (port 0 picks free ports), and -sharded uses the
// sharded Redis adapter. A message sent on one server reaches the room's
// members on every server. Presence and the room list are each server's
// own.
//
// It supervises child processes, each in a process group of its own so that
// Ctrl-C reaches the supervisor alone: redis-server and nginx (Debian's
// packages, which `make deps` installs), and the chat servers, which are
// this program again:
//
//	cluster serve -addr 127.0.0.1:3101 -redis 127.0.0.1:3110
//
// runs one chat server on a Redis of your own. Each child's output is
// prefixed with its name. On Ctrl-C (or SIGTERM) the chat servers shut down
// gracefully first, then nginx, then Redis, and the command exits 0; if a
// child exits by itself, the others are stopped and the command exits 1.
// (Under go run, Ctrl-C also reaches the go command, which then exits 1
// whatever the program returned: scripts/cluster builds the program and
// runs it in its own place.)
//
// nginx spreads requests over the servers with plain round-robin, nothing
// sticky: each server relays, through Redis, the requests of a connection
// it does not hold to the one that does (ferry.Options.Relay). nginx names
// the server that answered in the X-Ferry-Upstream response header.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs the command and returns its exit status.
func run(args []string) int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second Ctrl-C ends the program at once
	// (its children then get SIGTERM from the kernel, see detach).
	context.AfterFunc(ctx, stop)

	if len(args) > 0 && args[0] == "serve" {
		cfg, err := parseServe(args[1:], os.Stderr)
		if err != nil {
			return usageStatus(err)
		}
		if err := serveChat(ctx, cfg, os.Stdout, logger); err != nil {
			logger.Error("chat server stopped", "err", err)
			return 1
		}
		return 0
	}

	cfg, err := parseCluster(args, os.Stderr)
	if err != nil {
		return usageStatus(err)
	}
	if cfg.self, err = os.Executable(); err != nil {
		logger.Error("finding this program's executable", "err", err)
		return 1
	}
	if err := runCluster(ctx, cfg, os.Stdout, &logMux{out: os.Stderr}, logger); err != nil {
		logger.Error("cluster stopped", "err", err)
		return 1
	}
	return 0
}

// usageStatus returns the exit status for a flag error: 0 for -h, else 2.
func usageStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(os.Stderr, "cluster:", err)
	return 2
}
