package load

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
)

// window is the measured part of a timed scenario: round trips that start
// in [from, to) count.
type window struct{ from, to time.Time }

func (t *target) window() window {
	from := time.Now().Add(t.p.Warmup)
	return window{from, from.Add(t.p.Duration)}
}

// measure reads the CPU marks at the window's edges.
func (t *target) measure(ctx context.Context, w window) (m0, m1 cpuMark, err error) {
	if err = wait(ctx, time.Until(w.from)); err != nil {
		return
	}
	if m0, err = t.begin(); err != nil {
		return
	}
	if err = wait(ctx, time.Until(w.to)); err != nil {
		return
	}
	m1, err = t.end()
	return
}

// runEcho runs Params.EchoClients WebSocket clients, each sending "echo"
// events with acks, depth of them in flight, for
// Params.Duration after Params.Warmup. It reports acked messages per
// second, round-trip latency, and the server's CPU time per message. The
// raw server echoes the same bytes in a raw frame instead. The scenario
// ("echo" or "echo-json") names the results.
func runEcho(ctx context.Context, t *target, scenario string, depth int) Result {
	r := t.result(scenario)
	c := t.p.EchoClients
	r.add("clients", c)
	r.add("window", depth)
	r.add("duration_s", t.p.Duration.Seconds())
	r.add("payload_bytes", t.p.Payload)
	if err := t.echo(ctx, c, depth, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

func (t *target) echo(ctx context.Context, c, depth int, r *Result) error {
	msg, err := t.event("echo", echoPayload(t.p.Payload))
	if err != nil {
		return err
	}
	readReply := func(conn *wsConn) error {
		_, err := conn.readAck()
		return err
	}
	if t.server.Protocol == Raw {
		msg = rawEcho(msg.Data)
		readReply = func(conn *wsConn) error {
			op, data, err := conn.readFrame()
			if err != nil {
				return err
			}
			if op != opBinary || !bytes.Equal(data, msg.Data) {
				return fmt.Errorf("load: raw echo returned %q", truncate(data))
			}
			return nil
		}
	}
	o, err := openAll(ctx, c, t.p.ConnectConcurrency, t.open, (*wsConn).close)
	if err != nil {
		return err
	}
	defer closeWS(o.conns)
	w := t.window()
	lats := make([][]time.Duration, c)
	var fe firstError
	var wg sync.WaitGroup
	for i, conn := range o.conns {
		wg.Go(func() {
			var err error
			lats[i], err = pipeline(conn, msg, depth, w, readReply)
			if err != nil {
				fe.set(err)
			}
		})
	}
	m0, m1, err := t.measure(ctx, w)
	wg.Wait()
	if err != nil {
		return err
	}
	if err := fe.get(); err != nil {
		return err
	}
	addRoundTrips(r, lats, m0, m1)
	return nil
}

// pipeline sends msg on conn and reads replies with readReply, keeping
// depth messages in flight until w ends, and returns the round-trip times
// of the messages sent within w. Replies come in order; those already
// received are answered with as many new messages in one write.
func pipeline(conn *wsConn, msg parser.Frame, depth int, w window, readReply func(*wsConn) error) ([]time.Duration, error) {
	frame := conn.frame(msg)
	frames := bytes.Repeat(frame, depth)
	sent := make([]time.Time, 0, depth) // send times of the messages in flight, oldest first
	var lats []time.Duration
	send := func(k int) error {
		now := time.Now()
		if !now.Before(w.to) {
			return nil
		}
		for range k {
			sent = append(sent, now)
		}
		return conn.writeFrames(frames[:k*len(frame)])
	}
	if err := send(depth); err != nil {
		return nil, err
	}
	for len(sent) > 0 {
		k := 0
		for {
			if err := readReply(conn); err != nil {
				return nil, err
			}
			now := time.Now()
			if t0 := sent[k]; !t0.Before(w.from) {
				lats = append(lats, now.Sub(t0))
			}
			k++
			if k == len(sent) || !conn.buffered() {
				break
			}
		}
		sent = append(sent[:0], sent[k:]...)
		if err := send(k); err != nil {
			return nil, err
		}
	}
	return lats, nil
}

// addRoundTrips adds the metrics of a timed round-trip scenario.
func addRoundTrips(r *Result, perClient [][]time.Duration, m0, m1 cpuMark) {
	var all []time.Duration
	for _, l := range perClient {
		all = append(all, l...)
	}
	n := int64(len(all))
	r.add("msgs", n)
	r.add("msgs_per_s", float64(n)/m1.at.Sub(m0.at).Seconds())
	p := percentiles(all, 0.5, 0.99)
	r.add("p50_us", micros(p[0]))
	r.add("p99_us", micros(p[1]))
	r.addCPU(m0, m1, n, "msgs")
}
