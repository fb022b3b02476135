package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Stop timeouts: a chat server's graceful shutdown is bounded by
// shutdownTimeout, and the others have nothing to wait for.
const (
	serverStopTimeout = shutdownTimeout + 5*time.Second
	stopTimeout       = 5 * time.Second
)

// startAttempts is how many ports the supervisor tries for nginx and Redis
// when it picks them itself: a port found free can be taken by another
// process before the child binds it.
const startAttempts = 3

// clusterConfig is the supervisor's configuration.
type clusterConfig struct {
	addr       string // nginx's address; port 0 picks a free one
	servers    int    // how many chat servers
	serverPort int    // the first chat server's port, the next ones follow; 0: each picks a free one
	redisPort  int    // 0 picks a free one
	sharded    bool   // the chat servers use the sharded adapter
	self       string // this program's executable, run as "serve" for each chat server
}

// parseCluster parses the supervisor's flags.
func parseCluster(args []string, stderr io.Writer) (clusterConfig, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c clusterConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3100", "nginx's address, the one to open (port 0: any free port)")
	fs.IntVar(&c.servers, "servers", 3, "how many chat servers")
	fs.IntVar(&c.serverPort, "server-port", 3101, "the first chat server's port on 127.0.0.1, the next ones follow (0: any free ports)")
	fs.IntVar(&c.redisPort, "redis-port", 3110, "redis-server's port on 127.0.0.1 (0: any free port)")
	fs.BoolVar(&c.sharded, "sharded", false, "use the sharded Redis adapter (sharded pub/sub, Redis 7) instead of the classic one")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cluster [-addr host:port] [-servers n] [-server-port port] [-redis-port port] [-sharded]")
		fmt.Fprintln(fs.Output(), "       cluster serve -h")
		fmt.Fprintln(fs.Output(), "Runs the chat example on several servers sharing one Redis, behind nginx; Ctrl-C stops everything.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case c.servers < 1:
		return c, errors.New("-servers must be at least 1")
	case c.serverPort < 0 || c.serverPort+c.servers-1 > 65535:
		return c, fmt.Errorf("-server-port %d: the ports must lie in 1-65535", c.serverPort)
	case c.redisPort < 0 || c.redisPort > 65535:
		return c, fmt.Errorf("-redis-port %d is not a port", c.redisPort)
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return c, fmt.Errorf("-addr: %w", err)
	}
	return c, nil
}

// cluster is a running cluster: its children, in the order they started.
type cluster struct {
	redis   *child
	servers []*child
	nginx   *child
	urls    []string // the chat servers' URLs
	url     string   // nginx's
	redisAt string
}

// children returns every child that is running, in start order.
func (cl *cluster) children() []*child {
	var all []*child
	if cl.redis != nil {
		all = append(all, cl.redis)
	}
	all = append(all, cl.servers...)
	if cl.nginx != nil {
		all = append(all, cl.nginx)
	}
	return all
}

// runCluster starts Redis, the chat servers and nginx, prints where they
// are to stdout, and runs until ctx is done (Ctrl-C) or a child exits.
// Then it stops them, the chat servers first (gracefully: their clients
// are told), then nginx, then Redis. It returns nil if it was stopped by
// ctx and every child stopped cleanly.
func runCluster(ctx context.Context, cfg clusterConfig, stdout io.Writer, logs *logMux, logger *slog.Logger) (err error) {
	tmp, err := os.MkdirTemp("", "ferry-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	cl := &cluster{}
	defer func() {
		if stopErr := cl.stop(logger); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	if err := cl.start(ctx, cfg, tmp, logs, logger); err != nil {
		return err
	}
	cl.print(stdout, cfg)

	exited := make(chan *child, len(cl.children()))
	for _, c := range cl.children() {
		go func() {
			<-c.exited
			exited <- c
		}()
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping the cluster")
		return nil
	case c := <-exited:
		return fmt.Errorf("%s exited (%v): stopping the cluster", c.name, c.err)
	}
}

// start starts the children; on error, those already started are left in
// cl for stop.
func (cl *cluster) start(ctx context.Context, cfg clusterConfig, tmp string, logs *logMux, logger *slog.Logger) error {
	logger.Info("starting redis-server")
	var err error
	for attempt := 1; ; attempt++ {
		port := cfg.redisPort
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		cl.redis, err = startRedis(ctx, port, redisDir(tmp), logs)
		if err == nil {
			cl.redisAt = redisAddr(port)
			break
		}
		if cfg.redisPort != 0 || attempt == startAttempts {
			return err
		}
	}

	adapter := "classic"
	if cfg.sharded {
		adapter = "sharded"
	}
	logger.Info("starting the chat servers", "count", cfg.servers, "adapter", adapter)
	for i := range cfg.servers {
		port := 0
		if cfg.serverPort != 0 {
			port = cfg.serverPort + i
		}
		c, addr, err := startServer(ctx, cfg, i+1, port, cl.redisAt, logs)
		if err != nil {
			return err
		}
		cl.servers = append(cl.servers, c)
		cl.urls = append(cl.urls, "http://"+addr+"/")
	}

	logger.Info("starting nginx")
	host, portText, _ := net.SplitHostPort(cfg.addr)
	upstreams := make([]string, len(cl.urls))
	for i, u := range cl.urls {
		upstreams[i] = u[len("http://") : len(u)-1]
	}
	for attempt := 1; ; attempt++ {
		listen := cfg.addr
		if portText == "0" {
			port, err := freePort()
			if err != nil {
				return err
			}
			listen = net.JoinHostPort(host, strconv.Itoa(port))
		}
		dir := filepath.Join(tmp, "nginx")
		conf, err := writeNginxConfig(dir, listen, upstreams)
		if err != nil {
			return err
		}
		cl.nginx, err = startNginx(ctx, dir, conf, logs)
		if err == nil {
			cl.url = "http://" + listen + "/"
			return nil
		}
		if !errors.Is(err, errAddrInUse) || portText != "0" || attempt == startAttempts {
			return fmt.Errorf("nginx on %s: %w", listen, err)
		}
	}
}

// startServer starts chat server number n ("server-n") on port (0: a free
// one) and returns it with the address it listens on.
func startServer(ctx context.Context, cfg clusterConfig, n, port int, redisAt string, logs *logMux) (*child, string, error) {
	name := "server-" + strconv.Itoa(n)
	args := []string{"serve", "-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "-redis", redisAt}
	if cfg.sharded {
		args = append(args, "-sharded")
	}
	cmd := exec.Command(cfg.self, args...)
	first := newFirstLineWriter(logs.writer(name))
	cmd.Stdout = first
	c, err := startChild(name, cmd, logs)
	if err != nil {
		return nil, "", err
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case addr := <-first.line:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			c.kill()
			return nil, "", fmt.Errorf("%s printed %q, not its address", name, addr)
		}
		return c, addr, nil
	case <-c.exited:
		return nil, "", fmt.Errorf("%s exited before listening (%v); is port %d taken?", name, c.err, port)
	case <-timer.C:
		c.kill()
		return nil, "", fmt.Errorf("%s did not listen within %v", name, startTimeout)
	case <-ctx.Done():
		c.kill()
		return nil, "", ctx.Err()
	}
}

// print tells the user where everything is.
func (cl *cluster) print(w io.Writer, cfg clusterConfig) {
	fmt.Fprintf(w, "Ferry chat on %d servers sharing one Redis, behind nginx:\n\n", len(cl.servers))
	fmt.Fprintf(w, "  %-9s %-28s (pid %d)  open this one\n", "nginx", cl.url, cl.nginx.pid())
	for i, c := range cl.servers {
		fmt.Fprintf(w, "  %-9s %-28s (pid %d)\n", c.name, cl.urls[i], c.pid())
	}
	fmt.Fprintf(w, "  %-9s %-28s (pid %d)\n", "redis", cl.redisAt, cl.redis.pid())
	fmt.Fprintf(w, "\nnginx spreads every request over the servers (round-robin, nothing sticky): each server\n")
	fmt.Fprintf(w, "relays a connection's requests to the one that holds it. Open the servers' own URLs to\n")
	fmt.Fprintf(w, "put a browser on each.\n")
	fmt.Fprintf(w, "Ctrl-C stops everything.\n")
}

// stop stops every child: the chat servers first, all at once, gracefully
// (their clients are told, parked long-polls answered); then nginx, which
// has nothing left in flight; then Redis. It returns the children that
// did not stop cleanly.
func (cl *cluster) stop(logger *slog.Logger) error {
	errs := make(chan error, len(cl.servers))
	for _, c := range cl.servers {
		go func() { errs <- c.stop(syscall.SIGTERM, serverStopTimeout) }()
	}
	var all []error
	for range cl.servers {
		all = append(all, <-errs)
	}
	if cl.nginx != nil {
		// SIGQUIT: nginx's graceful shutdown.
		all = append(all, cl.nginx.stop(syscall.SIGQUIT, stopTimeout))
	}
	if cl.redis != nil {
		all = append(all, cl.redis.stop(syscall.SIGTERM, stopTimeout))
	}
	err := errors.Join(all...)
	if err == nil && len(cl.children()) > 0 {
		logger.Info("cluster stopped")
	}
	return err
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}
