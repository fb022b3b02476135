package session

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/transport"
)

// Bus carries relay messages between the engines of a cluster (see
// RelayOptions). Each engine is a node with an id of its own; a bus
// serves one engine. Package redisadapter has one over Redis pub/sub.
// Its methods must be safe for concurrent use.
type Bus interface {
	// Node returns this engine's node id: 4 characters of the URL-safe
	// base64 alphabet (A-Z, a-z, 0-9, '-' and '_'), unique in the cluster.
	// It begins the id of every session the engine opens. NewEngine
	// panics if it is not of that form.
	Node() string
	// Open starts the delivery of the messages other nodes send to this
	// one: receive is called with each, one at a time, and for each sender
	// in the order it sent them. receive does not block on the network.
	// NewEngine calls Open once; Open must not wait on the network.
	Open(receive func(msg []byte))
	// Send sends msg to node. It must not block on the network: messages
	// are queued, and reach node in the order Send was called, or not at
	// all (a bus may lose messages, when its network fails; the engines
	// notice gaps and silences). An error means msg was dropped at once.
	Send(node string, msg []byte) error
	// Close stops delivery, sends what is queued if it can do so soon,
	// and releases the bus. The engine calls it when it closes.
	Close() error
}

// RelayOptions lets the engines of a cluster serve each other's sessions,
// so that a load balancer need not keep a client on one server (no sticky
// sessions). A session's id begins with the node id of the engine that
// holds it (its owner). A long-polling GET or POST that reaches another
// engine is served by the owner through the bus, on the owner's polling
// transport; a WebSocket that reaches another engine is accepted there and
// bridged, packet by packet, to the owner, whose session probes and
// upgrades to it as to one of its own. See the package documentation.
type RelayOptions struct {
	// Bus carries the messages between the engines. Required.
	Bus Bus
	// Timeout is how long an engine waits to hear from another it has
	// requests or WebSockets in flight with before it deems it gone: the
	// relaying engine then answers the client as for an unknown session
	// (400, code 1, "Session ID unknown"), and the owner ends the
	// session's transport as if the client had vanished. Engines with
	// requests in flight between them send each other a message at least
	// every Timeout/4. Default 5s.
	Timeout time.Duration
}

// Flow control of a relayed WebSocket: at most relayWindow packets in
// flight each way, acknowledged once half of them have been handled.
const (
	relayWindow   = 256
	relayAckEvery = relayWindow / 2
)

// Errors of relayed requests.
var (
	// errRelayLost ends what was in flight with an engine that fell
	// silent for RelayOptions.Timeout.
	errRelayLost = errors.New("session: relaying server gone silent")
	// errRelayGap ends what was in flight with an engine some of whose
	// messages were lost.
	errRelayGap = errors.New("session: relay messages lost")
	// errRelayGone answers a request whose relaying side no longer waits.
	errRelayGone = errors.New("session: request no longer relayed")
	// errRelayClosed ends what is in flight when the engine closes.
	errRelayClosed = errors.New("session: engine closed")
	// errRelayBye ends what was in flight with an engine that closed.
	errRelayBye = errors.New("session: the other server closed")
)

// linkUser is something in flight with another engine: it ends with
// linkLost when that engine falls silent or messages between the two are
// lost. linkLost is called without locks held, at most once.
type linkUser interface {
	linkLost(err error)
}

// link is this engine's state for one other engine.
type link struct {
	node string

	sendMu  sync.Mutex // held while numbering and handing a message to the bus
	sendSeq uint64     // guarded by sendMu

	recvSeq uint64                 // guarded by relayer.mu: the last number received, 0 before the first
	heard   time.Time              // guarded by relayer.mu: when a message last came
	sent    time.Time              // guarded by relayer.mu: when a message last went
	users   map[linkUser]time.Time // guarded by relayer.mu: in flight with the node, since when
	gone    bool                   // guarded by relayer.mu: the node said its engine closed
}

// relayer is an engine's side of the relay: it routes requests for other
// engines' sessions to them, serves theirs for its own sessions, and
// watches the engines it has something in flight with.
type relayer struct {
	e       *Engine
	bus     Bus
	node    string
	timeout time.Duration
	logger  *slog.Logger
	stop    chan struct{}  // closed by close: ends the watch goroutine
	watched chan struct{}  // closed when the watch goroutine has ended
	polls   sync.WaitGroup // GETs relayed to this engine being served
	// relayed counts the GETs and POSTs this engine relays to others,
	// which close lets finish.
	relayed sync.WaitGroup

	mu      sync.Mutex
	closed  bool                        // guarded by mu
	nextID  uint64                      // guarded by mu
	links   map[string]*link            // guarded by mu
	pending map[uint64]*pendingRequest  // guarded by mu: requests this engine relays, by id
	bridges map[uint64]*bridge          // guarded by mu: WebSockets this engine relays, by id
	served  map[servedKey]servedRequest // guarded by mu: requests and WebSockets relayed to this engine

	// testHookOpen, if set (by tests, before serving), serves each
	// relayed WebSocket in place of the session it names: the transport
	// is bound to the session it returns, and started, without a probe.
	testHookOpen func(rt *remoteWS) transport.Session
}

// servedKey names a request or WebSocket another engine relays to this
// one.
type servedKey struct {
	node string
	id   uint64
}

// servedRequest is a request or WebSocket served for another engine; see
// relay_poll.go and relay_ws.go.
type servedRequest interface {
	linkUser
	receive(m *relayMsg)
}

func newRelayer(e *Engine, o *RelayOptions) *relayer {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	rl := &relayer{
		e:       e,
		bus:     o.Bus,
		node:    o.Bus.Node(),
		timeout: timeout,
		logger:  e.logger,
		stop:    make(chan struct{}),
		watched: make(chan struct{}),
		links:   make(map[string]*link),
		pending: make(map[uint64]*pendingRequest),
		bridges: make(map[uint64]*bridge),
		served:  make(map[servedKey]servedRequest),
	}
	if !sid.ValidNode(rl.node) {
		panic("session: RelayOptions.Bus.Node must be 4 characters of the URL-safe base64 alphabet, not " + rl.node)
	}
	go rl.watch()
	rl.bus.Open(rl.receive)
	return rl
}

// newSID returns the id of a new session of this engine.
func (rl *relayer) newSID() string { return sid.Routed(rl.node) }

// owner returns the node holding the session id, when another engine does.
func (rl *relayer) owner(id string) (string, bool) {
	n := sid.Node(id)
	return n, n != "" && n != rl.node
}

// linkLocked returns the link to node, made if needed.
func (rl *relayer) linkLocked(node string) *link {
	l := rl.links[node]
	if l == nil {
		l = &link{node: node, users: make(map[linkUser]time.Time)}
		rl.links[node] = l
	}
	return l
}

// useLocked records u as in flight with node.
func (rl *relayer) useLocked(node string, u linkUser) {
	rl.linkLocked(node).users[u] = time.Now()
}

// unuseLocked records that u is no longer in flight with node.
func (rl *relayer) unuseLocked(node string, u linkUser) {
	if l := rl.links[node]; l != nil {
		delete(l.users, u)
	}
}

// newID returns a fresh request id.
func (rl *relayer) newIDLocked() uint64 {
	rl.nextID++
	return rl.nextID
}

// send numbers m and hands it to the bus for node. A message the bus
// refuses is lost like one lost on the way: the other engine notices.
func (rl *relayer) send(node string, m *relayMsg) {
	rl.mu.Lock()
	l := rl.linkLocked(node)
	l.sent = time.Now()
	rl.mu.Unlock()
	m.From = rl.node
	l.sendMu.Lock()
	l.sendSeq++
	m.Seq = l.sendSeq
	err := rl.bus.Send(node, encodeMsg(m))
	l.sendMu.Unlock()
	if err != nil {
		rl.logger.Warn("relay: message not sent", "node", node, "err", err)
	}
}

// receive handles one message from the bus. It never blocks for long:
// whatever may wait (a delivery to the application) runs elsewhere.
func (rl *relayer) receive(b []byte) {
	m, err := decodeMsg(b)
	if err != nil {
		rl.logger.Warn("relay: message ignored", "err", err)
		return
	}
	if !sid.ValidNode(m.From) || m.From == rl.node {
		rl.logger.Warn("relay: message from an invalid node ignored", "node", m.From)
		return
	}
	rl.mu.Lock()
	l := rl.linkLocked(m.From)
	l.heard = time.Now()
	l.gone = m.Kind == kindBye
	var lost []linkUser
	// A count that starts again at 1 means the other engine forgot this
	// one (it had nothing in flight with it for a long time): what this
	// one still has in flight with it is orphaned. Any other break in the
	// count means messages were lost, the first one included.
	restart := m.Seq == 1 && l.recvSeq != 0
	gap := m.Seq != l.recvSeq+1 && m.Seq != 1
	if gap || restart || m.Kind == kindReset || m.Kind == kindBye {
		lost = rl.dropUsersLocked(l)
	}
	l.recvSeq = m.Seq
	rl.mu.Unlock()
	if m.Kind == kindBye {
		for _, u := range lost {
			u.linkLost(errRelayBye)
		}
		return
	}
	if gap {
		// The other engine ends what it has in flight with this one too.
		rl.logger.Warn("relay: messages lost; what was in flight with the node ends", "node", m.From, "in_flight", len(lost))
		rl.send(m.From, &relayMsg{Kind: kindReset})
	}
	for _, u := range lost {
		u.linkLost(errRelayGap)
	}
	rl.dispatch(&m)
}

// dropUsersLocked forgets what is in flight with l's node and returns it.
func (rl *relayer) dropUsersLocked(l *link) []linkUser {
	lost := make([]linkUser, 0, len(l.users))
	for u := range l.users {
		lost = append(lost, u)
	}
	clear(l.users)
	return lost
}

// dispatch routes m to what it concerns.
func (rl *relayer) dispatch(m *relayMsg) {
	switch m.Kind {
	case kindAlive, kindReset, kindBye:
	case kindPoll:
		rl.servePoll(m)
	case kindPost:
		rl.servePost(m)
	case kindOpen:
		rl.serveOpen(m)
	case kindPollCancel, kindPollRelease, kindPollWritten, kindUp, kindUpAck, kindUpEnd:
		rl.mu.Lock()
		sr := rl.served[servedKey{m.From, m.ID}]
		rl.mu.Unlock()
		switch {
		case sr != nil:
			sr.receive(m)
		case m.Kind == kindUp || m.Kind == kindUpAck:
			// The session's transport ended: the relay learns it.
			rl.send(m.From, &relayMsg{Kind: kindDownEnd, ID: m.ID, Err: errOther, ErrText: errRelayGone.Error()})
		}
	case kindPollAnswer, kindPostAnswer, kindOpenAnswer:
		rl.mu.Lock()
		p := rl.pending[m.ID]
		rl.mu.Unlock()
		switch {
		case p != nil && p.owner == m.From:
			p.answer(m)
		case m.Kind == kindPollAnswer && len(m.Pkts) > 0:
			// The client went away: the owner's GET failed.
			reply := &relayMsg{Kind: kindPollWritten, ID: m.ID}
			reply.setErr(errRelayGone)
			rl.send(m.From, reply)
		case m.Kind == kindOpenAnswer && m.Status == statusProbe:
			rl.send(m.From, &relayMsg{Kind: kindUpEnd, ID: m.ID, Err: errOther, ErrText: errRelayGone.Error()})
		}
	case kindDown, kindDownAck, kindDownEnd:
		rl.mu.Lock()
		b := rl.bridges[m.ID]
		rl.mu.Unlock()
		switch {
		case b != nil && b.owner == m.From:
			b.receive(m)
		case m.Kind != kindDownEnd:
			rl.send(m.From, &relayMsg{Kind: kindUpEnd, ID: m.ID, Err: errOther, ErrText: errRelayGone.Error()})
		}
	}
}

// watch runs while the engine does: every Timeout/4 it sends a message to
// each engine it has something in flight with that it has sent nothing to
// for as long, and ends what is in flight with an engine not heard from
// for Timeout.
func (rl *relayer) watch() {
	defer close(rl.watched)
	tick := time.NewTicker(rl.timeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-rl.stop:
			return
		case now := <-tick.C:
			rl.check(now)
		}
	}
}

// linkIdle is how long a link with nothing in flight is kept.
const linkIdle = 10 * time.Minute

// check does one round of watch.
func (rl *relayer) check(now time.Time) {
	var alive []string
	var lost []linkUser
	rl.mu.Lock()
	for node, l := range rl.links {
		if len(l.users) == 0 {
			if now.Sub(l.heard) > linkIdle && now.Sub(l.sent) > linkIdle {
				delete(rl.links, node)
			}
			continue
		}
		if now.Sub(l.sent) >= rl.timeout/4 {
			alive = append(alive, node)
		}
		for u, since := range l.users {
			last := l.heard
			if since.After(last) {
				last = since
			}
			if now.Sub(last) > rl.timeout {
				lost = append(lost, u)
				delete(l.users, u)
			}
		}
	}
	rl.mu.Unlock()
	for _, node := range alive {
		rl.send(node, &relayMsg{Kind: kindAlive})
	}
	for _, u := range lost {
		u.linkLost(errRelayLost)
	}
}

// close ends everything in flight, stops the watch and closes the bus.
func (rl *relayer) close() {
	rl.mu.Lock()
	if rl.closed {
		rl.mu.Unlock()
		return
	}
	rl.closed = true
	var gets []*pendingRequest
	for _, p := range rl.pending {
		if p.kind == kindPoll {
			gets = append(gets, p)
		}
	}
	rl.mu.Unlock()
	// The GETs this engine relays are answered at once, with a noop if
	// nothing is queued for them, so that their sessions carry on through
	// the other engines; the POSTs it relays get their answers. The watch
	// ends those whose owners do not answer within the timeout.
	for _, p := range gets {
		rl.send(p.owner, &relayMsg{Kind: kindPollRelease, ID: p.id})
	}
	relayed := make(chan struct{})
	go func() {
		// Those still waiting after the timeout (a POST held by a handler
		// on its owner) are failed below, and then finish.
		rl.relayed.Wait()
		close(relayed)
	}()
	wait := time.NewTimer(rl.timeout)
	select {
	case <-relayed:
	case <-wait.C:
	}
	wait.Stop()
	// The GETs relayed here were answered when their sessions closed:
	// their answers are written, or their relaying engines found gone by
	// the watch, before this engine says it closed.
	rl.polls.Wait()
	rl.mu.Lock()
	var lost []linkUser
	var peers []string
	now := time.Now()
	for node, l := range rl.links {
		lost = append(lost, rl.dropUsersLocked(l)...)
		if now.Sub(l.heard) < linkIdle || now.Sub(l.sent) < linkIdle {
			peers = append(peers, node)
		}
	}
	rl.mu.Unlock()
	for _, u := range lost {
		u.linkLost(errRelayClosed)
	}
	// The others answer at once, from now on, that this engine's sessions
	// are unknown.
	for _, node := range peers {
		rl.send(node, &relayMsg{Kind: kindBye})
	}
	close(rl.stop)
	<-rl.watched
	if err := rl.bus.Close(); err != nil {
		rl.logger.Debug("relay: closing the bus", "err", err)
	}
}

// forward serves a request for a session another engine holds.
func (rl *relayer) forward(w http.ResponseWriter, r *http.Request, owner, id string, name string, isUpgrade bool) {
	switch {
	case name == transport.NameWebSocket && isUpgrade:
		if !rl.e.allowed(w, r) {
			return
		}
		rl.forwardUpgrade(w, r, owner, id)
	case name == transport.NamePolling && r.Method == http.MethodGet:
		rl.forwardPoll(w, r, owner, id)
	case name == transport.NamePolling && r.Method == http.MethodPost:
		rl.forwardPost(w, r, owner, id)
	default:
		rl.e.refuse(w, r, http.StatusBadRequest, transport.CodeBadRequest)
	}
}

// pendingRequest is a request this engine relays, waiting for the owner's
// answer.
type pendingRequest struct {
	rl     *relayer
	owner  string
	id     uint64
	kind   msgKind           // kindPoll, kindPost or kindOpen
	answer func(m *relayMsg) // called on the receive goroutine; must not block
	lost   chan error        // receives why the owner will not answer (capacity 1)
}

// startRequest registers a relayed request of kind; answer receives the
// owner's answer. It returns nil once this engine or the owner's has
// closed.
func (rl *relayer) startRequest(owner string, answer func(m *relayMsg), kind msgKind) *pendingRequest {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.closed || rl.linkLocked(owner).gone {
		return nil
	}
	p := &pendingRequest{rl: rl, owner: owner, id: rl.newIDLocked(), kind: kind, answer: answer, lost: make(chan error, 1)}
	rl.pending[p.id] = p
	rl.useLocked(owner, p)
	if kind != kindOpen {
		rl.relayed.Add(1)
	}
	return p
}

// finish unregisters p.
func (p *pendingRequest) finish() {
	p.rl.mu.Lock()
	delete(p.rl.pending, p.id)
	p.rl.unuseLocked(p.owner, p)
	p.rl.mu.Unlock()
	if p.kind != kindOpen {
		p.rl.relayed.Done()
	}
}

func (p *pendingRequest) linkLost(err error) {
	select {
	case p.lost <- err:
	default:
	}
}

// answerChan returns an answer function for startRequest that hands the
// answer to the returned channel.
func answerChan() (func(*relayMsg), <-chan *relayMsg) {
	ch := make(chan *relayMsg, 1)
	return func(m *relayMsg) {
		select {
		case ch <- m:
		default:
		}
	}, ch
}
