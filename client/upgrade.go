package client

import (
	"context"
	"errors"
	"fmt"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// errProbe reports a WebSocket probe that was not answered with "3probe".
var errProbe = errors.New("client: upgrade: unexpected answer to probe")

// upgrade moves a polling session to a WebSocket, as the official client
// does:
//
//  1. open a WebSocket with the session's sid and send "2probe";
//  2. wait for "3probe" (on failure, drop the WebSocket and keep polling);
//  3. pause polling: the writer finishes its POST in flight and stops, and
//     the poll loop delivers its GET in flight (the server releases it with
//     a noop) and stops;
//  4. send "5" on the WebSocket and make it the session's transport; the
//     writer resumes there with whatever was queued meanwhile.
//
// It then reads the WebSocket for the rest of the session.
func (e *engine) upgrade() {
	ws, err := e.probeWebSocket()
	if err != nil {
		e.log.Debug("client: websocket upgrade failed; staying on polling", "err", err)
		return
	}

	e.mu.Lock()
	if e.closed || e.closing {
		e.probe = nil
		e.mu.Unlock()
		_ = ws.Close()
		return
	}
	e.pausing = true
	e.mu.Unlock()
	signal(e.wake)

	for _, paused := range []chan struct{}{e.writerPaused, e.pollPaused} {
		select {
		case <-paused:
		case <-e.done:
			return
		}
	}

	if err := ws.WriteMessage(gorilla.TextMessage, transport.EncodePacket(transport.Packet{Type: transport.Upgrade})); err != nil {
		e.terminate(ReasonTransportError, fmt.Errorf("client: upgrade: %w", err))
		return
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.kind = transportWebSocket
	e.ws = ws
	e.probe = nil
	e.pausing = false
	e.mu.Unlock()
	close(e.upgraded)
	e.log.Debug("client: upgraded to websocket")
	e.readLoop(ws)
}

// probeWebSocket opens the upgrade WebSocket and exchanges "2probe" for
// "3probe", within Options.Timeout. On success the WebSocket is recorded as
// e.probe, so that terminate closes it.
func (e *engine) probeWebSocket() (*gorilla.Conn, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.c.opts.Timeout)
	defer cancel()
	ws, err := e.c.dialWebSocket(ctx, e.sid)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = ws.Close()
		return nil, ErrClosed
	}
	e.probe = ws
	e.mu.Unlock()

	fail := func(err error) (*gorilla.Conn, error) {
		e.mu.Lock()
		e.probe = nil
		e.mu.Unlock()
		_ = ws.Close()
		return nil, err
	}
	probe := transport.EncodePacket(transport.Packet{Type: transport.Ping, Data: []byte("probe")})
	if err := ws.WriteMessage(gorilla.TextMessage, probe); err != nil {
		return fail(err)
	}
	p, err := readFrameCtx(ctx, ws)
	if err != nil {
		return fail(err)
	}
	if p.Type != transport.Pong || string(p.Data) != "probe" {
		return fail(errProbe)
	}
	return ws, nil
}
