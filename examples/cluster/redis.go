package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long each child may take to start listening.
const startTimeout = 15 * time.Second

// startRedis runs redis-server on 127.0.0.1:port, keeping nothing on disk
// (its working folder is dir), and waits until it answers PING.
func startRedis(ctx context.Context, port int, dir string, logs *logMux) (*child, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (Debian: apt-get install redis-server, or make deps): %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--loglevel", "warning")
	c, err := startChild("redis", cmd, logs)
	if err != nil {
		return nil, err
	}
	if err := waitRedis(ctx, c, redisAddr(port)); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// redisAddr returns the address of a redis-server on port.
func redisAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// waitRedis waits until the server at addr answers PING, the child exits,
// or startTimeout passes.
func waitRedis(ctx context.Context, c *child, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("redis-server exited before answering (%v); is port %s taken?", c.err, addr)
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("redis-server on %s did not answer PING", addr), err)
		case <-tick.C:
		}
	}
}

// redisDir is the folder given to redis-server for its files (it writes
// none with persistence off).
func redisDir(tmp string) string { return filepath.Join(tmp, "redis") }
