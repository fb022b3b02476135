package load

import "context"

// runConnect opens Params.ConnectN connections, ConnectConcurrency at a
// time, and reports connections per second. Mode "websocket" opens
// WebSocket-only Socket.IO connections (raw WebSockets for the raw
// server); "upgrade" connects as socket.io-client does by default, over
// long-polling first and then upgrading to WebSocket. A connection counts
// once it has joined the main namespace (and, for "upgrade", upgraded).
func runConnect(ctx context.Context, t *target, mode string) Result {
	r := t.result("connect")
	n, k := t.p.ConnectN, t.p.ConnectConcurrency
	r.add("mode", mode)
	r.add("n", n)
	r.add("concurrency", k)
	open := t.open
	if mode == "upgrade" {
		open = func(ctx context.Context) (*wsConn, error) {
			return openUpgrade(ctx, t.src, t.proc.addr, t.codec, t.connect, t.deadline)
		}
	}
	m0, err := t.begin()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	o, err := openAll(ctx, n, k, open, (*wsConn).close)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer closeWS(o.conns)
	m1, err := t.end()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.add("conns_per_s", float64(n)/o.elapsed.Seconds())
	p := percentiles(o.latency, 0.5, 0.99)
	r.add("p50_ms", millis(p[0]))
	r.add("p99_ms", millis(p[1]))
	r.addCPU(m0, m1, int64(n), "conns")
	return r
}

// settle waits Params.Settle so that a server finishes the work connections
// caused (and its garbage is collected, if it runs a collector on its own)
// before its memory is read.
func (t *target) settle(ctx context.Context) error { return wait(ctx, t.p.Settle) }

// idleReaders reads each connection until it closes, answering Engine.IO
// pings (the raw server sends none), so
// that idle connections stay alive. Closing the connections ends them;
// wait for them with the returned func.
func idleReaders(conns []*wsConn) (waitAll func()) {
	done := make(chan struct{}, len(conns))
	for _, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				if _, _, err := c.readEngine(); err != nil {
					return
				}
			}
		}()
	}
	return func() {
		for range conns {
			<-done
		}
	}
}
