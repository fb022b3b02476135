package client

import (
	"fmt"
	"io"
	"net/http"

	"github.com/ferryio/ferry/transport"
)

// pollLoop is the polling reader: one GET at a time, each answer's packets
// delivered in order. It stops when the upgrade pauses polling (after
// delivering its last GET), when the session closes, or on an error.
func (e *engine) pollLoop() {
	for _, p := range e.initial {
		e.receive(p)
	}
	e.initial = nil
	for {
		e.mu.Lock()
		closed, closing, pausing := e.closed, e.closing, e.pausing
		e.mu.Unlock()
		switch {
		case pausing:
			// Checked before closing: an upgrade in progress waits for this
			// signal, and the writer waits for the upgrade before it flushes
			// the close; returning without it would leave both waiting.
			close(e.pollPaused)
			return
		case closed || closing:
			return
		}
		pkts, err := e.poll()
		for _, p := range pkts {
			e.receive(p)
		}
		if err != nil {
			e.terminate(ReasonTransportError, err)
			return
		}
	}
}

// poll performs one long-polling GET. It returns the packets decoded before
// any error, so that, as in the reference client, packets ahead of a bad
// record are still delivered.
func (e *engine) poll() ([]transport.Packet, error) {
	req, err := e.c.newRequest(e.ctx, http.MethodGet, e.sid, nil)
	if err != nil {
		return nil, fmt.Errorf("client: poll: %w", err)
	}
	resp, err := e.c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: poll: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: poll: %w", httpError(resp))
	}
	body, err := io.ReadAll(&progressReader{r: resp.Body, e: e})
	if err != nil {
		return nil, fmt.Errorf("client: poll: %w", err)
	}
	pkts, err := transport.DecodePayload(body)
	if err != nil {
		return pkts, fmt.Errorf("client: poll: %w", err)
	}
	return pkts, nil
}
