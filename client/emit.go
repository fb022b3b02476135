package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// outbound is an event emitted while the socket was not connected, already
// encoded, waiting in the socket's send buffer.
type outbound struct {
	pkts []transport.Packet
	ack  *pendingAck // nil when no acknowledgement was asked for
}

// pendingAck is an acknowledgement awaited by EmitWithAck.
type pendingAck struct {
	id   uint64
	ch   chan ackResult // capacity 1; receives exactly one result
	sent bool           // guarded by the socket's mu: the event left the send buffer
}

type ackResult struct {
	args parser.Args
	err  error
}

// Emit sends the event with args to the server. Arguments may be any value
// the parser encodes: nil, bools, numbers, strings, []byte (sent as
// binary), slices, maps with string keys, structs, or parser.Raw values.
//
// Emit does not wait for the network. While the socket is connecting or
// reconnecting, the event is buffered and sent once the namespace is joined
// again. It fails with ErrInactive on an inactive socket, ErrClosed after
// Client.Close, ErrReservedEvent for a reserved name, the parser's error
// for an argument it cannot encode, or ErrQueueFull when the event would
// overflow Options.MaxQueuedPackets (see ErrQueueFull for what then
// happens to the connection).
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(event, args, nil)
}

// EmitWithAck sends the event like Emit, asking the server for an
// acknowledgement, and waits for it. It returns the acknowledgement's
// arguments, still encoded: decode them with Args.Decode.
//
// Ack ids are numbered per socket from 0. If ctx ends first, EmitWithAck
// returns ctx's error (wrapped) and a late acknowledgement is ignored. If
// the connection is lost after the event was sent, it fails with a
// *DisconnectError; an event still in the send buffer keeps waiting for the
// next connection.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (parser.Args, error) {
	a := &pendingAck{ch: make(chan ackResult, 1)}
	if err := s.emit(event, args, a); err != nil {
		return nil, err
	}
	select {
	case r := <-a.ch:
		return r.args, r.err
	case <-ctx.Done():
		s.mu.Lock()
		if s.acks[a.id] == a {
			delete(s.acks, a.id)
		}
		s.mu.Unlock()
		select {
		case r := <-a.ch:
			return r.args, r.err
		default:
		}
		return nil, fmt.Errorf("client: ack for event %q: %w", event, ctx.Err())
	}
}

func (s *Socket) emit(event string, args []any, a *pendingAck) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	s.mu.Lock()
	err := s.emitLocked(event, args, a)
	s.mu.Unlock()
	if errors.Is(err, ErrQueueFull) {
		s.c.maybeIdle()
	}
	return err
}

func (s *Socket) emitLocked(event string, args []any, a *pendingAck) error {
	if !s.active {
		if s.c.shut.Load() {
			return ErrClosed
		}
		return ErrInactive
	}
	p := &parser.Packet{
		Type:      parser.Event,
		Namespace: s.namespace,
		Args:      append([]any{event}, args...),
	}
	if a != nil {
		p.ID, p.HasID = s.nextID, true
	}
	pkts, err := s.encodeLocked(p)
	if err != nil {
		return fmt.Errorf("client: encode event %q: %w", event, err)
	}
	if s.connected {
		switch err := s.eng.enqueue(pkts...); {
		case err == nil:
			if a != nil {
				a.id = s.nextID
				a.sent = true
				s.nextID++
				s.acks[a.id] = a
			}
			return nil
		case errors.Is(err, ErrQueueFull):
			// The session closes with ReasonQueueFull; the heartbeat
			// goroutine tells the sockets.
			return fmt.Errorf("client: emit %q: %w", event, err)
		}
		// The session is ending: keep the event for the next one.
	}
	if s.buffered+len(pkts) > s.c.opts.MaxQueuedPackets {
		s.overflowLocked()
		return fmt.Errorf("client: emit %q: %w", event, ErrQueueFull)
	}
	if a != nil {
		a.id = s.nextID
		s.nextID++
		s.acks[a.id] = a
	}
	s.buffer = append(s.buffer, outbound{pkts: pkts, ack: a})
	s.buffered += len(pkts)
	return nil
}

// overflowLocked disconnects the socket because its send buffer would
// exceed Options.MaxQueuedPackets: the buffered events are dropped, pending
// acknowledgements fail with a *DisconnectError (ReasonQueueFull,
// ErrQueueFull), and the socket becomes inactive. OnDisconnect runs if it
// was connected, OnConnectError otherwise (it was waiting to join). The
// caller calls Client.maybeIdle once the lock is released.
func (s *Socket) overflowLocked() {
	err := &DisconnectError{Reason: ReasonQueueFull, Err: ErrQueueFull}
	was := s.connected
	if was {
		_ = s.eng.enqueue(s.disconnectPkts...)
		s.eng, s.connected, s.sid = nil, false, ""
	}
	s.stopLocked(err)
	if was {
		s.dispatchDisconnectLocked(ReasonQueueFull)
	} else {
		s.dispatchConnectErrorLocked(err)
	}
}

// flushLocked sends the send buffer over e, in order, once the namespace is
// joined. What e no longer accepts stays buffered for the next session.
func (s *Socket) flushLocked(e *engine) {
	for len(s.buffer) > 0 {
		o := s.buffer[0]
		if e.enqueue(o.pkts...) != nil {
			return
		}
		if o.ack != nil {
			o.ack.sent = true
		}
		s.buffered -= len(o.pkts)
		s.buffer[0] = outbound{}
		s.buffer = s.buffer[1:]
	}
	s.buffer = nil
}

// failAcksLocked fails pending acknowledgements with err: all of them, or
// with sentOnly only those whose event left the send buffer.
func (s *Socket) failAcksLocked(err error, sentOnly bool) {
	for id, a := range s.acks {
		if sentOnly && !a.sent {
			continue
		}
		delete(s.acks, id)
		a.ch <- ackResult{err: err}
	}
}

// onAck delivers the server's ACK to the EmitWithAck waiting for it. An ACK
// for an unknown id (or one that timed out) is ignored.
func (s *Socket) onAck(_ *engine, msg *parser.Message) {
	if !msg.HasID {
		return
	}
	s.mu.Lock()
	a := s.acks[msg.ID]
	if a != nil {
		delete(s.acks, msg.ID)
	}
	s.mu.Unlock()
	if a != nil {
		a.ch <- ackResult{args: msg.Args}
	}
}

// sendAck answers the server's event id on session e.
func (s *Socket) sendAck(e *engine, id uint64, args []any) error {
	if args == nil {
		args = []any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pkts, err := s.encodeLocked(&parser.Packet{Type: parser.Ack, Namespace: s.namespace, ID: id, HasID: true, Args: args})
	if err != nil {
		return fmt.Errorf("client: encode ack: %w", err)
	}
	if !s.connected || s.eng != e {
		return fmt.Errorf("client: ack: %w", ErrDisconnected)
	}
	switch err := e.enqueue(pkts...); {
	case err == nil:
		return nil
	case errors.Is(err, ErrQueueFull):
		return fmt.Errorf("client: ack: %w", err)
	default:
		return fmt.Errorf("client: ack: %w", ErrDisconnected)
	}
}
