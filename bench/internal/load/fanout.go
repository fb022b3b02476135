package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
)

// fanoutRoom is the room the fanout clients join.
const fanoutRoom = "fanout"

// runFanout connects Params.FanoutN WebSocket clients to one room; another
// client asks the server to broadcast Params.FanoutM messages to it. Each
// message carries its send time. It reports deliveries per second (from
// the request to the last delivery) and delivery latency.
func runFanout(ctx context.Context, t *target) Result {
	r := t.result("fanout")
	r.add("clients", t.p.FanoutN)
	r.add("messages", t.p.FanoutM)
	r.add("payload_bytes", t.p.Payload)
	if err := t.fanout(ctx, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

func (t *target) fanout(ctx context.Context, r *Result) error {
	n, m := t.p.FanoutN, t.p.FanoutM
	join, trigger, err := t.fanoutFrames()
	if err != nil {
		return err
	}
	conns, control, err := t.openRoom(ctx, n, join)
	if err != nil {
		return err
	}
	defer closeWS(conns)
	defer control.close()

	lats := make([][]time.Duration, n)
	last := make([]time.Time, n)
	var fe firstError
	var wg sync.WaitGroup
	for i, c := range conns {
		lats[i] = make([]time.Duration, 0, m)
		wg.Go(func() {
			for range m {
				sent, err := t.readTick(c)
				if err != nil {
					fe.set(err)
					return
				}
				now := time.Now()
				lats[i] = append(lats[i], now.Sub(sent))
				last[i] = now
			}
		})
	}
	m0, err := t.begin()
	if err != nil {
		return err
	}
	if err := t.request(control, trigger); err != nil {
		return err
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
	end := m0.at
	for i := range conns {
		all = append(all, lats[i]...)
		if last[i].After(end) {
			end = last[i]
		}
	}
	d := int64(len(all))
	r.add("deliveries", d)
	r.add("deliveries_per_s", float64(d)/end.Sub(m0.at).Seconds())
	p := percentiles(all, 0.5, 0.99)
	r.add("p50_ms", millis(p[0]))
	r.add("p99_ms", millis(p[1]))
	r.addCPU(m0, m1, d, "deliveries")
	return nil
}

// fanoutFrames returns the join request and the fanout trigger.
func (t *target) fanoutFrames() (join, trigger parser.Frame, err error) {
	if t.server.Protocol == Raw {
		return parser.Frame{Data: []byte(rawJoin), Binary: true}, rawFanout(t.p.FanoutM, t.p.Payload), nil
	}
	if join, err = t.event("join", fanoutRoom); err != nil {
		return parser.Frame{}, parser.Frame{}, err
	}
	trigger, err = t.event("fanout", fanoutRoom, t.p.FanoutM, t.p.Payload)
	return join, trigger, err
}

// request sends a request frame and waits for its answer: the ack (the
// raw server answers with the command's letter).
func (t *target) request(c *wsConn, frame parser.Frame) error {
	if err := c.writeMessage(frame); err != nil {
		return err
	}
	if t.server.Protocol == Raw {
		mt, data, err := c.readFrame()
		if err != nil {
			return err
		}
		if mt != opBinary || len(data) != 1 || data[0] != frame.Data[0] {
			return fmt.Errorf("load: raw request %q answered %q", frame.Data[:1], truncate(data))
		}
		return nil
	}
	_, err := c.readAck()
	return err
}

// readTick reads one broadcast message and returns its send time.
func (t *target) readTick(c *wsConn) (time.Time, error) {
	var us int64
	if t.server.Protocol == Raw {
		_, data, err := c.readFrame()
		if err != nil {
			return time.Time{}, err
		}
		if us, err = rawTickTime(data); err != nil {
			return time.Time{}, err
		}
		return time.UnixMicro(us), nil
	}
	msg, err := c.readMessage()
	if err != nil {
		return time.Time{}, err
	}
	if msg.Type != parser.Event || msg.Event != "tick" || len(msg.Args) != 2 {
		return time.Time{}, fmt.Errorf("load: got %v %q with %d args, want a tick", msg.Type, msg.Event, len(msg.Args))
	}
	if err := msg.Args[0].Decode(&us); err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us), nil
}

// openRoom opens n clients that each join the room with the join frame,
// and a control client that asks for the broadcasts. On error, what was
// opened is closed.
func (t *target) openRoom(ctx context.Context, n int, join parser.Frame) (conns []*wsConn, control *wsConn, err error) {
	openJoined := func(ctx context.Context) (*wsConn, error) {
		c, err := t.open(ctx)
		if err != nil {
			return nil, err
		}
		if err := t.request(c, join); err != nil {
			c.close()
			return nil, err
		}
		return c, nil
	}
	o, err := openAll(ctx, n, t.p.ConnectConcurrency, openJoined, (*wsConn).close)
	if err != nil {
		return nil, nil, err
	}
	control, err = t.open(ctx)
	if err != nil {
		closeWS(o.conns)
		return nil, nil, err
	}
	return o.conns, control, nil
}
