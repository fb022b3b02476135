package transporttest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferryio/ferry/transport"
)

// Session is an in-memory transport.Session for tests: an outbound queue
// the test fills with Push, a record of what transports deliver and report,
// and a checker of the call rules in the package documentation.
//
// Only the transport passed to Bind is its writer: Take returns nothing to
// any other. Deliver and TransportClosed are accepted from any transport.
// Session never copies delivered packets, so a transport that reuses a
// buffer after Deliver shows up as corrupted deliveries. All methods are
// safe for concurrent use; the zero value is not usable, call NewSession.
type Session struct {
	mu        sync.Mutex
	writer    transport.Transport                               // guarded by mu: the transport Take serves
	queue     []transport.Packet                                // guarded by mu: pushed, not yet taken
	pushed    []transport.Packet                                // guarded by mu: copies of every pushed packet, in queue order
	closing   bool                                              // guarded by mu: PushLast was called
	tookLast  map[transport.Transport]bool                      // guarded by mu: Take returned last to it
	delivered []transport.Packet                                // guarded by mu: accepted by Deliver, in call order
	rejected  []transport.Packet                                // guarded by mu: refused by the OnDeliver hook
	refusedTo map[transport.Transport]bool                      // guarded by mu: Deliver returned an error to it
	onDeliver func(transport.Transport, transport.Packet) error // guarded by mu
	inFlight  map[transport.Transport]int                       // guarded by mu: Take and Deliver calls not yet returned
	ended     map[transport.Transport]endState                  // guarded by mu: TransportClosed calls
	problems  []error                                           // guarded by mu: contract violations seen
	changed   chan struct{}                                     // guarded by mu: closed and replaced on every recorded change
}

type endState struct {
	reason error
}

// NewSession returns an empty Session with no writer.
func NewSession() *Session {
	return &Session{
		tookLast:  make(map[transport.Transport]bool),
		refusedTo: make(map[transport.Transport]bool),
		inFlight:  make(map[transport.Transport]int),
		ended:     make(map[transport.Transport]endState),
		changed:   make(chan struct{}),
	}
}

// Bind makes t the session's writer, the only transport Take serves, and
// wakes it so that it takes what is already queued. Bind(nil) leaves the
// session with no writer.
func (s *Session) Bind(t transport.Transport) {
	s.mu.Lock()
	s.writer = t
	s.mu.Unlock()
	if t != nil {
		t.Wake()
	}
}

// Push queues pkts for the writer and wakes it. It panics after PushLast.
func (s *Session) Push(pkts ...transport.Packet) {
	s.push(false, pkts)
}

// PushLast queues pkts, at least one, as the session's final packets and
// wakes the writer: the Take that returns the last of them reports
// last == true, and the transport must then write them and end. Nothing may
// be pushed afterwards.
func (s *Session) PushLast(pkts ...transport.Packet) {
	if len(pkts) == 0 {
		panic("transporttest: PushLast needs at least one packet")
	}
	s.push(true, pkts)
}

func (s *Session) push(last bool, pkts []transport.Packet) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		panic("transporttest: Push after PushLast")
	}
	s.closing = last
	s.queue = append(s.queue, pkts...)
	for _, p := range pkts {
		s.pushed = append(s.pushed, clonePacket(p))
	}
	w := s.writer
	s.mu.Unlock()
	if w != nil {
		w.Wake()
	}
}

// Pushed returns copies of every packet pushed so far, in queue order: the
// order in which the peer must receive them.
func (s *Session) Pushed() []transport.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]transport.Packet(nil), s.pushed...)
}

// Queued returns the number of pushed packets no Take has returned yet.
func (s *Session) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Delivered returns the packets accepted by Deliver so far, in order.
func (s *Session) Delivered() []transport.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]transport.Packet(nil), s.delivered...)
}

// WaitDelivered blocks until at least n packets have been accepted by
// Deliver, then returns all accepted so far. It returns ctx's error, with
// what was delivered, if ctx ends first.
func (s *Session) WaitDelivered(ctx context.Context, n int) ([]transport.Packet, error) {
	err := s.wait(ctx, func() bool { return len(s.delivered) >= n })
	return s.Delivered(), err
}

// OnDeliver installs f, called (without the session's lock held) for every
// Deliver before the packet is recorded. If f returns an error, Deliver
// returns it and records the packet as rejected instead of delivered; f may
// call the transport's Close, as a closing session does. f == nil removes
// the hook.
func (s *Session) OnDeliver(f func(t transport.Transport, p transport.Packet) error) {
	s.mu.Lock()
	s.onDeliver = f
	s.mu.Unlock()
}

// Rejected returns the packets that Deliver refused, in order.
func (s *Session) Rejected() []transport.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]transport.Packet(nil), s.rejected...)
}

// WaitRejected blocks until Deliver has refused at least n packets, then
// returns all refused so far, or ctx's error if ctx ends first.
func (s *Session) WaitRejected(ctx context.Context, n int) ([]transport.Packet, error) {
	err := s.wait(ctx, func() bool { return len(s.rejected) >= n })
	return s.Rejected(), err
}

// ClosedReason reports whether t has called TransportClosed, and with what
// reason.
func (s *Session) ClosedReason(t transport.Transport) (reason error, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ended[t]
	return e.reason, ok
}

// WaitClosed blocks until t has called TransportClosed and returns the
// reason it gave, or returns ctx's error as err if ctx ends first.
func (s *Session) WaitClosed(ctx context.Context, t transport.Transport) (reason, err error) {
	if err := s.wait(ctx, func() bool { _, ok := s.ended[t]; return ok }); err != nil {
		return nil, err
	}
	reason, _ = s.ClosedReason(t)
	return reason, nil
}

// Err returns the contract violations seen so far, joined, or nil: a Take
// or Deliver from a transport after its TransportClosed, a Take after one
// that returned last == true, a Deliver after one that returned an error,
// TransportClosed called twice, or while a Deliver call of the same
// transport had not returned.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.problems...)
}

// Take implements transport.Session. It returns the whole queue to the
// writer (nil if the queue is empty) and nil to any other transport. last
// is true when the batch ends with the last packet given to PushLast.
func (s *Session) Take(t transport.Transport) (pkts []transport.Packet, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ended[t]; ok {
		s.problemLocked("Take by %s after its TransportClosed", name(t))
	}
	if s.tookLast[t] {
		s.problemLocked("Take by %s after a Take that returned last", name(t))
	}
	if t != s.writer || len(s.queue) == 0 {
		return nil, false
	}
	pkts, s.queue = s.queue, nil
	if s.closing {
		s.tookLast[t] = true
		last = true
	}
	s.changedLocked()
	return pkts, last
}

// Deliver implements transport.Session: it records p, or, if the OnDeliver
// hook refuses it, records it as rejected and returns the hook's error.
func (s *Session) Deliver(t transport.Transport, p transport.Packet) error {
	s.mu.Lock()
	if _, ok := s.ended[t]; ok {
		s.problemLocked("Deliver by %s after its TransportClosed", name(t))
	}
	if s.refusedTo[t] {
		s.problemLocked("Deliver by %s after Deliver returned an error to it", name(t))
	}
	s.inFlight[t]++
	f := s.onDeliver
	s.mu.Unlock()

	var err error
	if f != nil {
		err = f(t, p)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight[t]--
	if err != nil {
		s.refusedTo[t] = true
		s.rejected = append(s.rejected, p)
	} else {
		s.delivered = append(s.delivered, p)
	}
	s.changedLocked()
	return err
}

// TransportClosed implements transport.Session: it records err as t's
// reason.
func (s *Session) TransportClosed(t transport.Transport, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ended[t]
	if ok {
		s.problemLocked("TransportClosed by %s called again (first reason %v, now %v)", name(t), e.reason, err)
	} else {
		e.reason = err
	}
	if n := s.inFlight[t]; n > 0 {
		s.problemLocked("TransportClosed by %s while %d of its Deliver calls had not returned", name(t), n)
	}
	s.ended[t] = e
	s.changedLocked()
}

// wait blocks until cond, evaluated with s.mu held, is true.
func (s *Session) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Session) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Session) problemLocked(format string, args ...any) {
	s.problems = append(s.problems, fmt.Errorf("transporttest: "+format, args...))
	s.changedLocked()
}

func name(t transport.Transport) string {
	if t == nil {
		return "<nil transport>"
	}
	return fmt.Sprintf("%s transport (%T)", t.Name(), t)
}

func clonePacket(p transport.Packet) transport.Packet {
	return transport.Packet{Type: p.Type, Data: append([]byte{}, p.Data...), Binary: p.Binary}
}
