package load

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
)

// runConnect opens Params.ConnectN connections, ConnectConcurrency at a
// time, and reports connections per second and the server's CPU time per
// connection. Mode "websocket" opens WebSocket-only Socket.IO connections
// (raw WebSockets for the raw server); "upgrade" connects as
// socket.io-client does by default, over long-polling first and then
// upgrading to WebSocket; "polling" makes the long-polling part only: the
// handshake GET, the CONNECT by POST and the GET of its reply, on one
// keep-alive connection (for the raw server, three requests to a bare
// net/http handler answering as much). A connection counts once it has
// joined the main namespace (and, for "upgrade", upgraded).
func runConnect(ctx context.Context, t *target, mode string) Result {
	r := t.result("connect")
	n, k := t.p.ConnectN, t.p.ConnectConcurrency
	r.add("mode", mode)
	r.add("n", n)
	r.add("concurrency", k)
	var open func(context.Context) (func(), error)
	switch {
	case mode == "polling" && t.server.Protocol == Raw:
		open = t.openRawPolling
	case mode == "polling":
		open = func(ctx context.Context) (func(), error) {
			h, err := dialHTTP(ctx, t.src, t.proc.addr)
			if err != nil {
				return nil, err
			}
			if err := newPollConn(t.proc.addr, h, h, t.codec).connect(t.connect, t.deadline); err != nil {
				h.close()
				return nil, err
			}
			return h.close, nil
		}
	case mode == "upgrade":
		open = closer(func(ctx context.Context) (*wsConn, error) {
			return openUpgrade(ctx, t.src, t.proc.addr, t.codec, t.connect, t.deadline)
		})
	default:
		open = closer(t.open)
	}
	m0, err := t.begin()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	o, err := openAll(ctx, n, k, open, func(close func()) { close() })
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer func() {
		for _, close := range o.conns {
			close()
		}
	}()
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

// closer adapts a WebSocket opener to runConnect's.
func closer(open func(context.Context) (*wsConn, error)) func(context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		c, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return c.close, nil
	}
}

// rawPollPath is the raw server's bare long-polling handler.
const rawPollPath = "/poll?EIO=4&transport=polling"

// openRawPolling makes the three requests of a long-polling connect to
// the raw server's bare handler, on one keep-alive connection, and leaves
// it open.
func (t *target) openRawPolling(ctx context.Context) (func(), error) {
	h, err := dialHTTP(ctx, t.src, t.proc.addr)
	if err != nil {
		return nil, err
	}
	addr := t.proc.addr
	withSid := rawPollPath + "&sid=AAAAAAAAAAAAAAAAAAAA"
	for _, req := range [][]byte{
		getRequest(addr, rawPollPath),
		postRequest(addr, withSid, pollBody(t.connect)),
		getRequest(addr, withSid),
	} {
		status, body, err := h.roundTrip(req, t.deadline)
		if err == nil && (status != http.StatusOK || len(body) == 0) {
			err = fmt.Errorf("load: raw polling request answered %d %q", status, truncate(body))
		}
		if err != nil {
			h.close()
			return nil, err
		}
	}
	return h.close, nil
}

// settle waits Params.Settle so that a server finishes the work connections
// caused (and its garbage is collected, if it runs a collector on its own)
// before its memory is read.
func (t *target) settle(ctx context.Context) error { return wait(ctx, t.p.Settle) }

// idleReaders reads each connection until it closes, answering Engine.IO
// pings (the raw server sends none), so that idle connections stay alive;
// pings, if not nil, counts the pings answered. Closing the connections
// ends the readers; wait for them with the returned func.
func idleReaders(conns []*wsConn, pings *atomic.Int64) (waitAll func()) {
	done := make(chan struct{}, len(conns))
	for _, c := range conns {
		c.pings = pings
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
