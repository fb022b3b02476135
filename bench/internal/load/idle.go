package load

import (
	"context"
	"fmt"
)

// warmupConns is how many connections the idle scenario opens and closes
// before its baseline, so that one-off costs (code paged in, pools and
// maps grown for the first connections) are not charged to the measured
// ones.
const warmupConns = 50

// runIdle opens n idle WebSocket connections and reports what each costs
// the server: resident memory (VmRSS from /proc, after minus before, over
// n), goroutines (Go servers) and heap (from /stats). The memory is read
// twice: as the running server has it, and after the server was asked to
// collect garbage and return freed memory to the system (Go:
// debug.FreeOSMemory; Node: gc(), with --expose-gc), which takes out where
// the collector happened to be in its cycle.
func runIdle(ctx context.Context, t *target, n int) Result {
	r := t.result("idle")
	r.add("n", n)
	if err := t.idle(ctx, n, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

func (t *target) idle(ctx context.Context, n int, r *Result) error {
	k := t.p.ConnectConcurrency
	warm, err := openAll(ctx, warmupConns, k, t.open, (*wsConn).close)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	closeWS(warm.conns)
	if err := t.settle(ctx); err != nil {
		return err
	}
	rss0, err := t.proc.rss()
	if err != nil {
		return err
	}
	s0, gc0, err := t.collect(ctx)
	if err != nil {
		return err
	}
	o, err := openAll(ctx, n, k, t.open, (*wsConn).close)
	if err != nil {
		return err
	}
	waitReaders := idleReaders(o.conns)
	defer func() {
		closeWS(o.conns)
		waitReaders()
	}()
	r.add("conns_per_s", float64(n)/o.elapsed.Seconds())
	if err := t.settle(ctx); err != nil {
		return err
	}
	rss1, err := t.proc.rss()
	if err != nil {
		return err
	}
	s1, gc1, err := t.collect(ctx)
	if err != nil {
		return err
	}
	r.add("rss_before_bytes", rss0)
	r.add("rss_after_bytes", rss1)
	r.add("rss_per_conn_bytes", float64(rss1-rss0)/float64(n))
	r.add("rss_per_conn_after_gc_bytes", float64(gc1-gc0)/float64(n))
	if h0, h1 := s0.heap(), s1.heap(); h0 >= 0 && h1 >= 0 {
		r.add("heap_per_conn_bytes", float64(h1-h0)/float64(n))
	}
	if s0.Goroutines != nil && s1.Goroutines != nil {
		r.add("goroutines_per_conn", float64(*s1.Goroutines-*s0.Goroutines)/float64(n))
	}
	return nil
}

// collect asks the server to collect garbage, waits for it to settle, and
// returns its stats and RSS then.
func (t *target) collect(ctx context.Context) (serverStats, int64, error) {
	if _, err := t.proc.stats(ctx, true); err != nil {
		return serverStats{}, 0, err
	}
	if err := t.settle(ctx); err != nil {
		return serverStats{}, 0, err
	}
	rss, err := t.proc.rss()
	if err != nil {
		return serverStats{}, 0, err
	}
	s, err := t.proc.stats(ctx, false)
	return s, rss, err
}
