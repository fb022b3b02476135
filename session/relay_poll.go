package session

import (
	"context"
	"net/http"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
)

// This file relays long-polling requests. The relaying engine (where the
// request arrived) reads the request and writes the response; the owner
// serves it on the session's polling transport, through a busResponder,
// under the same rules as a request of its own.

// forwardPoll relays a GET to the owner of session id and writes its
// answer.
func (rl *relayer) forwardPoll(w http.ResponseWriter, r *http.Request, owner, id string) {
	res := rl.e.polling.NewResponder(w, r)
	answer, answered := answerChan()
	p := rl.startRequest(owner, answer, kindPoll)
	if p == nil {
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	defer p.finish()
	rl.send(owner, &relayMsg{Kind: kindPoll, ID: p.id, SID: id})
	select {
	case m := <-answered:
		if m.Status != 0 {
			res.Error(m.Status, m.Code)
			return
		}
		reply := &relayMsg{Kind: kindPollWritten, ID: p.id}
		reply.setErr(res.Payload(m.Pkts))
		rl.send(owner, reply)
	case <-r.Context().Done():
		rl.send(owner, &relayMsg{Kind: kindPollCancel, ID: p.id})
	case err := <-p.lost:
		rl.logger.Debug("relay: GET answered as for an unknown session", "sid", id, "owner", owner, "err", err)
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
	}
}

// forwardPost relays a POST to the owner of session id and writes its
// answer.
func (rl *relayer) forwardPost(w http.ResponseWriter, r *http.Request, owner, id string) {
	res := rl.e.polling.NewResponder(w, r)
	body, readErr := rl.e.polling.ReadPost(w, r)
	answer, answered := answerChan()
	p := rl.startRequest(owner, answer, kindPost)
	if p == nil {
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	defer p.finish()
	m := &relayMsg{Kind: kindPost, ID: p.id, SID: id, Body: body}
	m.setErr(readErr)
	rl.send(owner, m)
	select {
	case m := <-answered:
		if m.Status == http.StatusOK {
			res.OK()
		} else {
			res.Error(m.Status, m.Code)
		}
	case <-r.Context().Done():
		// The client went away; the owner delivers the packets anyway,
		// as it does for a POST of its own whose client vanished.
	case err := <-p.lost:
		rl.logger.Debug("relay: POST answered as for an unknown session", "sid", id, "owner", owner, "err", err)
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
	}
}

// servedPoll is a GET another engine relays to this one.
type servedPoll struct {
	cancel  context.CancelCauseFunc
	written chan error // capacity 1: whether the answer reached the client
}

func (sp *servedPoll) receive(m *relayMsg) {
	switch m.Kind {
	case kindPollCancel:
		sp.cancel(nil)
	case kindPollRelease:
		sp.cancel(polling.ErrGetReleased)
	case kindPollWritten:
		select {
		case sp.written <- m.err():
		default:
		}
	}
}

func (sp *servedPoll) linkLost(err error) {
	sp.cancel(err)
	select {
	case sp.written <- err:
	default:
	}
}

// servedPost is a POST another engine relays to this one. It is only
// counted in flight, so that the engines keep hearing from each other while
// its packets are delivered.
type servedPost struct{}

func (*servedPost) receive(*relayMsg) {}
func (*servedPost) linkLost(error)    {}

// serve registers sr as served for m's sender, or reports false once the
// engine has closed.
func (rl *relayer) serve(m *relayMsg, sr servedRequest) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.closed {
		return false
	}
	rl.served[servedKey{m.From, m.ID}] = sr
	rl.useLocked(m.From, sr)
	if _, ok := sr.(*servedPoll); ok {
		rl.polls.Add(1)
	}
	return true
}

// unserve unregisters what serve registered.
func (rl *relayer) unserve(m *relayMsg, sr servedRequest) {
	rl.mu.Lock()
	k := servedKey{m.From, m.ID}
	if rl.served[k] == sr {
		delete(rl.served, k)
	}
	rl.unuseLocked(m.From, sr)
	rl.mu.Unlock()
}

// servePoll serves a GET relayed by m's sender.
func (rl *relayer) servePoll(m *relayMsg) {
	res := &busResponder{rl: rl, node: m.From, id: m.ID, kind: kindPollAnswer}
	s := rl.e.registry.get(m.SID)
	if s == nil {
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sp := &servedPoll{cancel: cancel, written: make(chan error, 1)}
	res.written = sp.written
	if !rl.serve(m, sp) {
		cancel(nil)
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	go func() {
		defer rl.polls.Done()
		defer rl.unserve(m, sp)
		defer cancel(nil)
		pt := s.pollingTransport()
		if pt == nil {
			res.Error(http.StatusBadRequest, transport.CodeBadRequest)
			return
		}
		pt.Poll(ctx, res)
	}()
}

// servePost serves a POST relayed by m's sender.
func (rl *relayer) servePost(m *relayMsg) {
	res := &busResponder{rl: rl, node: m.From, id: m.ID, kind: kindPostAnswer}
	s := rl.e.registry.get(m.SID)
	sp := &servedPost{}
	if s == nil || !rl.serve(m, sp) {
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	go func() {
		defer rl.unserve(m, sp)
		pt := s.pollingTransport()
		if pt == nil {
			res.Error(http.StatusBadRequest, transport.CodeBadRequest)
			return
		}
		pt.Post(m.Body, m.err(), res)
	}()
}

// busResponder answers a relayed request with a message to the relaying
// engine.
type busResponder struct {
	rl      *relayer
	node    string
	id      uint64
	kind    msgKind    // kindPollAnswer or kindPostAnswer
	written chan error // for a GET: whether the payload was written
}

var _ polling.Responder = (*busResponder)(nil)

// Payload sends pkts, and waits to learn whether the relaying engine
// wrote them to the client.
func (b *busResponder) Payload(pkts []transport.Packet) error {
	b.rl.send(b.node, &relayMsg{Kind: b.kind, ID: b.id, Pkts: pkts})
	return <-b.written
}

func (b *busResponder) OK() {
	b.rl.send(b.node, &relayMsg{Kind: b.kind, ID: b.id, Status: http.StatusOK})
}

func (b *busResponder) Error(status int, code transport.ErrorCode) {
	b.rl.send(b.node, &relayMsg{Kind: b.kind, ID: b.id, Status: status, Code: code})
}
