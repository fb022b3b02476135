package load

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
)

// runPolling is the echo scenario over long-polling only: Params.PollClients
// clients, each with a GET always pending on one connection and its POSTs
// on another (as browsers do), send an "echo" event with an ack and wait
// for the ack before the next.
func runPolling(ctx context.Context, t *target) Result {
	r := t.result("polling")
	c := t.p.PollClients
	r.add("clients", c)
	r.add("duration_s", t.p.Duration.Seconds())
	r.add("payload_bytes", t.p.Payload)
	if err := t.pollEcho(ctx, c, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

// errPollingEnded reports a GET loop that stopped before its client did.
var errPollingEnded = errors.New("load: long-polling ended")

func (t *target) pollEcho(ctx context.Context, c int, r *Result) error {
	frame, err := t.event("echo", echoPayload(t.p.Payload))
	if err != nil {
		return err
	}
	open := func(ctx context.Context) (*pollConn, error) {
		return openPolling(ctx, t.src, t.proc.addr, t.codec, t.connect, t.deadline)
	}
	o, err := openAll(ctx, c, t.p.ConnectConcurrency, open, (*pollConn).close)
	if err != nil {
		return err
	}
	var fe firstError
	var readers sync.WaitGroup
	defer func() {
		for _, p := range o.conns {
			p.close()
		}
		readers.Wait()
	}()
	w := t.window()
	lats := make([][]time.Duration, c)
	var wg sync.WaitGroup
	for i, p := range o.conns {
		acks := make(chan struct{}, 1)
		ended := make(chan struct{})
		readers.Go(func() {
			defer close(ended)
			for {
				msgs, err := p.poll(t.deadline)
				if err != nil {
					return
				}
				for _, m := range msgs {
					if m.Type == parser.Ack && m.ID == ackID {
						acks <- struct{}{}
					}
				}
			}
		})
		req := postRequest(p.addr, p.path, pollBody(frame))
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(w.to) {
					return
				}
				if err := p.send(req, t.deadline); err != nil {
					fe.set(err)
					return
				}
				select {
				case <-acks:
				case <-ended:
					fe.set(errPollingEnded)
					return
				}
				if !t0.Before(w.from) {
					lats[i] = append(lats[i], time.Since(t0))
				}
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
