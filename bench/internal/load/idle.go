package load

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/ferryio/ferry/bench/internal/procstat"
)

// warmupConns is how many connections the idle scenario opens and closes
// before its baseline, so that one-off costs (code paged in, pools and
// maps grown for the first connections) are not charged to the measured
// ones.
const warmupConns = 50

// fileMargin is the open files the idle scenario wants beyond one per
// connection, in the load tool and in the server (which inherits its
// limit): listeners, pipes, the runtime's own.
const fileMargin = 256

// runIdle opens n idle WebSocket connections and reports what each costs
// the server: resident memory (VmRSS from /proc, after minus before, over
// n), goroutines (Go servers) and heap (from /stats). The memory is read
// twice: as the running server has it, and after the server was asked to
// collect garbage and return freed memory to the system (Go:
// debug.FreeOSMemory; Node: gc(), with --expose-gc), which takes out where
// the collector happened to be in its cycle.
//
// With Params.IdleCPUWindow, it then measures the server's CPU over that
// window while the connections sit idle and answer the server's pings, and
// reports it per ping answered: what heartbeats cost.
func runIdle(ctx context.Context, t *target, n int) Result {
	r := t.result("idle")
	r.add("n", n)
	if err := t.idle(ctx, n, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

func (t *target) idle(ctx context.Context, n int, r *Result) error {
	limit, err := procstat.FileLimit()
	if err != nil {
		return err
	}
	if need := uint64(n + fileMargin); limit < need {
		return fmt.Errorf("%d connections need %d open files in the load tool and in the server, the limit is %d "+
			"(its hard limit can be raised only with CAP_SYS_RESOURCE)", n, need, limit)
	}
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
	var pings atomic.Int64
	waitReaders := idleReaders(o.conns, &pings)
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
	if w := t.p.IdleCPUWindow; w > 0 {
		return t.heartbeats(ctx, &pings, r)
	}
	return nil
}

// heartbeats measures the server's CPU over Params.IdleCPUWindow, with the
// pings the connections answer in that window.
func (t *target) heartbeats(ctx context.Context, pings *atomic.Int64, r *Result) error {
	p0 := pings.Load()
	m0, err := t.begin()
	if err != nil {
		return err
	}
	if err := wait(ctx, t.p.IdleCPUWindow); err != nil {
		return err
	}
	m1, err := t.end()
	if err != nil {
		return err
	}
	n := pings.Load() - p0
	r.add("idle_window_s", t.p.IdleCPUWindow.Seconds())
	r.add("pings", n)
	r.add("pings_per_s", float64(n)/m1.at.Sub(m0.at).Seconds())
	r.addCPU(m0, m1, n, "pings")
	if n > 0 {
		r.add("server_cpu_us_per_ping", (m1.server-m0.server).Seconds()/float64(n)*1e6)
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
