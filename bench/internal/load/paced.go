package load

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
)

// pacedRoom is the room the paced-fanout clients join.
const pacedRoom = "paced"

// runPaced connects Params.PacedN WebSocket clients to one room and asks
// the server to broadcast to it rate times a second, for Params.Warmup and
// then Params.Duration. Each message carries the time it was due (the
// server's start time plus its index times the interval), not the time it
// was sent, so a server that falls behind its pace is charged for it.
// Deliveries of messages due in the measured window count: it reports
// their latency from the due time (p50, p99, max), deliveries per second
// against the rate offered, and the server's CPU time. To tell a server
// that starts a broadcast late (a timer woken late, a collection, an
// earlier broadcast not yet written) from one that is slow handing it out,
// it also reports, over the broadcasts, the latency of each one's first
// delivery (first_p50_ms, first_p99_ms) and the time from its first
// delivery to its last (spread_p50_ms, spread_p99_ms).
func runPaced(ctx context.Context, t *target, rate int) Result {
	r := t.result("paced")
	r.add("clients", t.p.PacedN)
	r.add("rate_per_s", rate)
	r.add("duration_s", t.p.Duration.Seconds())
	r.add("payload_bytes", t.p.Payload)
	if err := t.paced(ctx, rate, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

func (t *target) paced(ctx context.Context, rate int, r *Result) error {
	n := t.p.PacedN
	interval := time.Second / time.Duration(rate)
	m := int((t.p.Warmup + t.p.Duration) / interval)
	join, trigger, err := t.pacedFrames(m, interval)
	if err != nil {
		return err
	}
	conns, control, err := t.openRoom(ctx, n, join)
	if err != nil {
		return err
	}
	defer closeWS(conns)
	defer control.close()

	// Each client reads all m messages; those due from the start of the
	// measured window on count. from is known once the server answered.
	fromSet := make(chan struct{})
	var from time.Time
	lats := make([][]time.Duration, n)
	last := make([]time.Time, n)
	var fe firstError
	var wg sync.WaitGroup
	for i, c := range conns {
		lats[i] = make([]time.Duration, 0, m)
		wg.Go(func() {
			<-fromSet
			for range m {
				due, err := t.readTick(c)
				if err != nil {
					fe.set(err)
					return
				}
				now := time.Now()
				if !due.Before(from) {
					lats[i] = append(lats[i], now.Sub(due))
					last[i] = now
				}
			}
		})
	}
	// On failure the readers are ended by closing their connections.
	abandon := func(err error) error {
		closeWS(conns)
		wg.Wait()
		return err
	}
	start, err := t.startPaced(control, trigger)
	if err != nil {
		close(fromSet)
		return abandon(err)
	}
	from = start.Add(t.p.Warmup)
	close(fromSet)
	if err := wait(ctx, time.Until(from)); err != nil {
		return abandon(err)
	}
	m0, err := t.begin()
	if err != nil {
		return abandon(err)
	}
	wg.Wait()
	m1, err := t.end()
	if err != nil {
		return err
	}
	if err := fe.get(); err != nil {
		return err
	}
	var all []time.Duration
	end := from
	for i := range conns {
		all = append(all, lats[i]...)
		if last[i].After(end) {
			end = last[i]
		}
	}
	d := int64(len(all))
	r.add("deliveries", d)
	r.add("offered_per_s", float64(n*rate))
	r.add("deliveries_per_s", float64(d)/end.Sub(from).Seconds())
	p := percentiles(all, 0.5, 0.99, 1)
	r.add("p50_ms", millis(p[0]))
	r.add("p99_ms", millis(p[1]))
	r.add("max_ms", millis(p[2]))
	first, spread := broadcastSpread(lats)
	p = percentiles(first, 0.5, 0.99)
	r.add("first_p50_ms", millis(p[0]))
	r.add("first_p99_ms", millis(p[1]))
	p = percentiles(spread, 0.5, 0.99)
	r.add("spread_p50_ms", millis(p[0]))
	r.add("spread_p99_ms", millis(p[1]))
	r.addCPU(m0, m1, d, "deliveries")
	return nil
}

// pacedFrames returns the join request and the paced-fanout trigger for m
// messages, one every interval.
func (t *target) pacedFrames(m int, interval time.Duration) (join, trigger parser.Frame, err error) {
	us := int(interval / time.Microsecond)
	if t.server.Protocol == Raw {
		return parser.Frame{Data: []byte(rawJoin), Binary: true}, rawPaced(m, t.p.Payload, us), nil
	}
	if join, err = t.event("join", pacedRoom); err != nil {
		return parser.Frame{}, parser.Frame{}, err
	}
	trigger, err = t.event("paced", pacedRoom, m, t.p.Payload, us)
	return join, trigger, err
}

// startPaced sends the paced-fanout trigger on c and returns the time the
// first message is due, which the server answers with.
func (t *target) startPaced(c *wsConn, trigger parser.Frame) (time.Time, error) {
	if err := c.writeMessage(trigger); err != nil {
		return time.Time{}, err
	}
	var us int64
	if t.server.Protocol == Raw {
		mt, data, err := c.readFrame()
		if err != nil {
			return time.Time{}, err
		}
		if mt != opBinary || len(data) != 9 || data[0] != 'P' {
			return time.Time{}, fmt.Errorf("load: raw paced request answered %q", truncate(data))
		}
		us = int64(binary.BigEndian.Uint64(data[1:]))
		return time.UnixMicro(us), nil
	}
	ack, err := c.readAck()
	if err != nil {
		return time.Time{}, err
	}
	if len(ack.Args) != 1 {
		return time.Time{}, fmt.Errorf("load: paced request acked with %d args, want the start time", len(ack.Args))
	}
	if err := ack.Args[0].Decode(&us); err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us), nil
}

// broadcastSpread returns, for each broadcast measured, the latency of its
// earliest delivery and the time from that delivery to its latest. lats
// holds each client's latencies in the order the broadcasts were sent:
// every client reads every broadcast, in order, so the k-th entries of
// all clients are one broadcast's deliveries.
func broadcastSpread(lats [][]time.Duration) (first, spread []time.Duration) {
	if len(lats) == 0 {
		return nil, nil
	}
	n := len(lats[0])
	for _, l := range lats {
		n = min(n, len(l))
	}
	for k := range n {
		lo, hi := lats[0][k], lats[0][k]
		for _, l := range lats[1:] {
			lo, hi = min(lo, l[k]), max(hi, l[k])
		}
		first = append(first, lo)
		spread = append(spread, hi-lo)
	}
	return first, spread
}
