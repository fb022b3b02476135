package ferry

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Handshake describes how a socket connected: the HTTP request that opened
// its connection, and the auth payload it sent to join the namespace. Its
// fields are those of socket.io's socket.handshake.
type Handshake struct {
	// Header is the request's header.
	Header http.Header
	// Query is the request's query, parsed from URL.
	Query url.Values
	// Host is the request's Host header (socket.io's
	// handshake.headers.host), which net/http keeps out of Header.
	Host string
	// Address is the client's IP address, without port (socket.io's
	// handshake.address): that of the request's peer, which is a proxy's
	// when there is one.
	Address string
	// URL is the request target as the client sent it, path and query.
	URL string
	// Secure reports whether the connection came over TLS.
	Secure bool
	// Time is when the connection was opened.
	Time time.Time
	// Auth is the client's auth payload, or nil when it sent none.
	Auth parser.Raw
}

// DecodeAuth decodes the auth payload into v. With no payload, v is left
// unchanged and the result is nil.
func (h *Handshake) DecodeAuth(v any) error {
	if h.Auth == nil {
		return nil
	}
	return h.Auth.Decode(v)
}

// Socket is one client's membership of one namespace. Its methods are safe
// for concurrent use: any goroutine may emit to any socket at any time.
//
// A socket is born when its client asks to join the namespace, and the
// middleware runs on it before it is connected: Connected reports false,
// and the rooms it joins and the events it emits (but volatile ones) are
// held until it connects, then joined and sent after the client is told it
// is connected. A socket the middleware refuses, or whose connection
// closes first, never connects: its Context is done, Connected stays false,
// it is in no room, and no disconnect handler runs. A connected socket
// stays so until it disconnects, once: its OnDisconnecting handlers run,
// it leaves its rooms, its Context is done, then its OnDisconnect handlers
// run.
//
// Event handlers for one connection run one at a time, in the order the
// client sent the events, on that connection's read goroutine. A handler
// that asks the same client for an ack uses EmitWithAckFunc, whose
// callback runs when the ack is read; EmitWithAck there would wait for an
// ack that cannot be read until the handler returns.
//
// Handlers are added with On, Once, OnAny, PrependAny, OnAnyOutgoing,
// OnError, OnDisconnecting and OnDisconnect, each of which returns a
// function that removes the handler (Go functions cannot be compared, so
// there is no Off(event, handler)); Off, OffAny, OffAnyOutgoing and
// RemoveAllListeners remove them in bulk. A handler removed while an event
// is being dispatched still runs for that event, unless it was added with
// Once. Use adds middleware for incoming events.
type Socket struct {
	id   string
	nsp  *Namespace
	conn *Conn
	auth parser.Raw // the CONNECT packet's payload
	// rec is what connection state recovery needs of the socket, or nil
	// when it is off.
	rec *socketRecovery

	mu    sync.Mutex
	state socketState // guarded by mu
	// early is guarded by mu: what the middleware asked of the socket
	// before it connected, and what reached it before its CONNECT reply,
	// nil if nothing (as for most sockets).
	early *earlyActions
	// holding is set, with mu held, from the moment the socket connects
	// (and enters its rooms) until its CONNECT reply is queued: what is sent
	// to it meanwhile waits in early.held (see reply).
	holding   atomic.Bool
	cancelled bool // guarded by mu: the socket's context is done, or due to be once made
	// ctx and cancel are guarded by mu: made by the first call to Context,
	// as most sockets never need them.
	ctx    context.Context
	cancel context.CancelFunc
	// handlers, onDisconnecting and onDisconnect are guarded by mu, and
	// copy-on-write (see listeners.go): handlers in the order added.
	handlers        []eventListener
	onDisconnecting []listener[func(*Socket, DisconnectReason)]
	onDisconnect    []listener[func(*Socket, DisconnectReason)]
	// extra holds what few sockets use: set once, with mu held, by the
	// first use of one of its features; nil on most sockets.
	extra atomic.Pointer[socketExtra]
	acks  map[uint64]ackFunc // guarded by mu: pending acks by id
	data  any                // guarded by mu
}

// earlyActions are what the middleware asked of a socket before it
// connected, carried out when it connects and dropped if it is refused, and
// the events that reached it between its entering its rooms and its
// CONNECT reply, sent after the reply.
type earlyActions struct {
	rooms   []string           // joined, in order
	packets []transport.Packet // emitted, in order
	held    []heldEvent        // sent to the connected socket before its reply, in order
}

// heldEvent is an event for a socket whose CONNECT reply is not queued
// yet, with what sendOffset needs to queue it.
type heldEvent struct {
	frames []transport.Packet
	offset string
	alias  string
}

// earlyLocked returns s.early, made if needed.
func (s *Socket) earlyLocked() *earlyActions {
	if s.early == nil {
		s.early = new(earlyActions)
	}
	return s.early
}

// socketState is where a socket is in its life.
type socketState uint8

const (
	// socketJoining: the middleware is running; the socket is not in its
	// namespace yet.
	socketJoining socketState = iota
	// socketConnected: accepted, in its namespace and rooms.
	socketConnected
	// socketGone: disconnected, or refused before it connected.
	socketGone
)

func newSocket(nsp *Namespace, c *Conn, auth parser.Raw) *Socket {
	s := &Socket{
		// A fresh id, not the connection's Engine.IO id, which Socket.IO
		// servers do not reveal.
		id:   sid.New(),
		nsp:  nsp,
		conn: c,
		auth: auth,
	}
	if nsp.server.recovery != nil {
		s.rec = &socketRecovery{pid: sid.New()}
	}
	return s
}

// socketRecovery is a socket's state for connection state recovery.
type socketRecovery struct {
	pid       string
	recovered bool // the socket was restored; set before it is shared
	// away is guarded by the socket's mu: the socket disconnected for a
	// reason that allows recovery, so Socket.Emit still sends to its room
	// through the adapter, which keeps the event for it.
	away bool
	// tracked is guarded by the socket's mu: a LiveSessionAdapter keeps
	// the socket's state while it is connected (see track).
	tracked bool

	// mu orders the sends that carry an offset, or a string that a client
	// would take for one, so that each alias names the right offset.
	mu sync.Mutex
	// connectOffset is guarded by mu: the offset of the newest event
	// broadcast before the socket joined its rooms.
	connectOffset string
	last          string        // guarded by mu: the offset of the last event sent with one
	aliases       []offsetAlias // guarded by mu: the newest last, at most maxAliases
}

// offsetAlias records that an event ending in the string text, sent without
// an offset, followed the event with offset.
type offsetAlias struct{ text, offset string }

// maxAliases bounds a socket's aliases: only the last one sent can be what
// the client sends back, but sends may overtake each other's recording.
const maxAliases = 8

// newRecoveredSocket returns a joining socket restored from st.
func newRecoveredSocket(nsp *Namespace, c *Conn, auth parser.Raw, st *SessionState) *Socket {
	return &Socket{
		id:   st.SID,
		nsp:  nsp,
		conn: c,
		auth: auth,
		data: st.Data,
		rec:  &socketRecovery{pid: st.PID, recovered: true, connectOffset: st.ConnectOffset},
	}
}

// connectRecovered moves a restored socket to connected; it reports false
// if it was refused meanwhile.
func (s *Socket) connectRecovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != socketJoining {
		return false
	}
	s.state = socketConnected
	return true
}

// keepsEvents reports whether an event emitted to the socket goes through
// the adapter to its own room, to be kept for replay: with recovery on,
// while it is connected, and once it disconnected for a reason that allows
// recovery.
func (s *Socket) keepsEvents() bool {
	if s.rec == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketConnected || s.rec.away
}

// Recovered reports whether the socket was restored by connection state
// recovery (socket.io's socket.recovered): it has the id, rooms and data of
// a socket that lost its connection, and the events it missed were sent to
// it before the CONNECT reply.
func (s *Socket) Recovered() bool { return s.rec != nil && s.rec.recovered }

// sendOffset queues frames of an event for the client. With recovery on,
// it records the event's offset, or, when it has none and its last
// argument is the string alias, that string as an alias of the previous
// offset.
func (s *Socket) sendOffset(frames []transport.Packet, volatile bool, offset, alias string) error {
	if s.holding.Load() {
		if held, err := s.hold(frames, volatile, offset, alias); held {
			return err
		}
	}
	return s.queueOffset(frames, volatile, offset, alias)
}

// hold keeps an event for a socket whose CONNECT reply is not queued yet,
// and reports whether it did: the client must get the reply first. A
// volatile event is dropped instead (errDropped), as for a client that is
// not ready for it.
func (s *Socket) hold(frames []transport.Packet, volatile bool, offset, alias string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.holding.Load() {
		return false, nil
	}
	if volatile {
		return true, errDropped
	}
	early := s.earlyLocked()
	early.held = append(early.held, heldEvent{frames, offset, alias})
	return true, nil
}

// reply queues the CONNECT reply of a socket that connected, then what its
// middleware emitted (early), then the events held since it entered its
// rooms, and ends the holding: socket.io's clients take a namespace's
// events only once connected to it. It reports false, and queues nothing,
// if the socket is gone meanwhile.
func (s *Socket) reply(early []transport.Packet) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var held []heldEvent
	if s.early != nil {
		held = s.early.held
		s.early = nil
	}
	if s.state != socketConnected {
		s.holding.Store(false)
		return false
	}
	s.sendConnect()
	if len(early) > 0 {
		s.conn.sendFrames(early, false)
	}
	for _, h := range held {
		s.queueOffset(h.frames, false, h.offset, h.alias)
	}
	// Senders that saw the holding wait for mu, and then send after these.
	s.holding.Store(false)
	return true
}

// queueOffset is sendOffset once the CONNECT reply is queued.
func (s *Socket) queueOffset(frames []transport.Packet, volatile bool, offset, alias string) error {
	r := s.rec
	if r == nil || (offset == "" && alias == "") {
		return s.conn.sendFrames(frames, volatile)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err := s.conn.sendFrames(frames, volatile)
	if err != nil {
		return err
	}
	if offset != "" {
		r.last = offset
	} else if r.last != "" {
		if len(r.aliases) == maxAliases {
			r.aliases = slices.Delete(r.aliases, 0, 1)
		}
		r.aliases = append(r.aliases, offsetAlias{alias, r.last})
	}
	return nil
}

// trailingString returns args' last element if it is a string, else "".
func trailingString(args []any) string {
	if len(args) == 0 {
		return ""
	}
	str, _ := args[len(args)-1].(string)
	return str
}

// track has the namespace's adapter keep the state of the socket, which
// just connected, when recovery is on and the adapter is a
// LiveSessionAdapter. It calls TrackSession under the socket's mu, so that
// tracking happens before onClose (which then untracks the socket) or not
// at all.
func (s *Socket) track() {
	if s.rec == nil {
		return
	}
	la, ok := s.nsp.adapter.(LiveSessionAdapter)
	if !ok {
		return
	}
	st := s.sessionState()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != socketConnected {
		return
	}
	s.rec.tracked = true
	if err := la.TrackSession(context.Background(), st); err != nil {
		s.nsp.server.logger.Warn("connection state recovery: keeping a connected session failed",
			"namespace", s.nsp.name, "socket", s.id, "err", err)
	}
}

// sessionState returns what recovery keeps of the socket.
func (s *Socket) sessionState() *SessionState {
	st := &SessionState{
		SID:   s.id,
		PID:   s.rec.pid,
		Rooms: s.nsp.adapter.SocketRooms(s.id),
		Data:  s.Data(),
	}
	s.rec.mu.Lock()
	st.ConnectOffset = s.rec.connectOffset
	if len(s.rec.aliases) > 0 {
		st.Aliases = make(map[string]string, len(s.rec.aliases))
		for _, a := range s.rec.aliases {
			st.Aliases[a.text] = a.offset
		}
	}
	s.rec.mu.Unlock()
	return st
}

// ID returns the socket's id, also the name of its own room.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns how the socket connected. The socket keeps only what
// the connection's request already holds and the auth payload, so each
// call returns a new Handshake, with the query parsed anew: call it once
// and keep the result where it is needed repeatedly.
func (s *Socket) Handshake() *Handshake {
	hs := s.conn.sess.Handshake()
	return &Handshake{
		Header:  hs.Header(),
		Query:   hs.Query(),
		Host:    hs.Host,
		Address: hostOnly(hs.RemoteAddr),
		URL:     hs.URL,
		Secure:  hs.Secure,
		Time:    hs.Time,
		Auth:    s.auth,
	}
}

// Transport returns the name of the connection's current transport,
// "polling" or "websocket".
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Conn returns the socket's connection (socket.io's socket.conn), shared by
// the client's sockets in other namespaces: its transport, the client's
// address, callbacks for upgrades and for its close, and Close, which
// disconnects them all with "forced close" (the client reconnects).
func (s *Socket) Conn() *Conn { return s.conn }

// Context returns a context cancelled when the socket disconnects, after
// its OnDisconnecting handlers and before its OnDisconnect handlers, or
// when it is refused (by the middleware, or because its connection closed
// while the middleware ran).
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		if s.cancelled {
			s.cancel()
		}
	}
	return s.ctx
}

// Connected reports whether the socket is connected: false while the
// middleware runs, true once accepted, false again once it disconnects.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == socketConnected
}

// Data returns the value stored with SetData, or nil.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData stores an application value with the socket (socket.io's
// socket.data); FetchSockets returns it.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// Rooms returns the rooms the socket is in, its own room included. While
// the middleware runs, they are the rooms it joined so far.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	if s.state == socketJoining {
		var rooms []string
		if s.early != nil {
			rooms = slices.Clone(s.early.rooms)
		}
		s.mu.Unlock()
		slices.Sort(rooms)
		return rooms
	}
	s.mu.Unlock()
	return s.nsp.adapter.SocketRooms(s.id)
}

// Join adds the socket to rooms. Called from a middleware, it takes effect
// when the socket connects. Once the socket has disconnected, or was
// refused, it does nothing.
func (s *Socket) Join(rooms ...string) {
	s.mu.Lock()
	switch s.state {
	case socketJoining:
		early := s.earlyLocked()
		for _, room := range rooms {
			if !slices.Contains(early.rooms, room) {
				early.rooms = append(early.rooms, room)
			}
		}
		s.mu.Unlock()
		return
	case socketGone:
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if s.nsp.watched() {
		s.nsp.changeRooms(s, func() { s.nsp.adapter.AddAll(s.id, rooms) })
	} else {
		s.nsp.adapter.AddAll(s.id, rooms)
	}
	if !s.Connected() {
		// The socket disconnected meanwhile, and may have left its rooms
		// before the add: leave them again.
		s.leaveAll()
	}
}

// leaveAll removes the socket from every room.
func (s *Socket) leaveAll() {
	if s.nsp.watched() {
		s.nsp.changeRooms(s, func() { s.nsp.adapter.DelAll(s.id) })
		return
	}
	s.nsp.adapter.DelAll(s.id)
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.mu.Lock()
	if s.state == socketJoining {
		if s.early != nil {
			s.early.rooms = slices.DeleteFunc(s.early.rooms, func(r string) bool { return r == room })
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if s.nsp.watched() {
		s.nsp.changeRooms(s, func() { s.nsp.adapter.Del(s.id, room) })
		return
	}
	s.nsp.adapter.Del(s.id, room)
}

// Emit sends an event to the client. Arguments may be any value the
// server's parser encodes: nil, booleans, numbers, strings, []byte (binary),
// slices, maps with string keys, and structs. With connection state
// recovery on, it also accepts an event for a socket that disconnected for
// a reason that allows recovery, as socket.io does: the event is kept and
// sent if the client recovers (see RecoveryOptions).
func (s *Socket) Emit(event string, args ...any) error { return Emitter{s: s}.Emit(event, args...) }

// EmitWithAck sends an event and waits for the client's ack, until ctx is
// done or the socket disconnects; see Emitter.EmitWithAck. A handler of
// the socket's must not wait so for its own client: it would wait for an
// ack that cannot be read until it returns. Use EmitWithAckFunc there.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return Emitter{s: s}.EmitWithAck(ctx, event, args...)
}

// EmitWithAckFunc sends an event and returns; f receives the client's ack,
// or the error that ends the wait, without a goroutine waiting for it. See
// Emitter.EmitWithAckFunc.
func (s *Socket) EmitWithAckFunc(ctx context.Context, event string, args []any, f func(reply Args, err error)) error {
	return Emitter{s: s}.EmitWithAckFunc(ctx, event, args, f)
}

// Volatile returns an Emitter whose events are dropped when the client is
// not ready to receive them.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true} }

// Timeout returns an Emitter whose EmitWithAck and EmitWithAckFunc stop
// waiting after d: a convenience for a context.WithTimeout deadline.
func (s *Socket) Timeout(d time.Duration) Emitter { return Emitter{s: s, timeout: d} }

// Compress returns an Emitter whose events are compressed only if compress
// is true, the default (socket.io's socket.compress); see
// Broadcast.Compress.
func (s *Socket) Compress(compress bool) Emitter { return Emitter{s: s, noCompress: !compress} }

// Broadcast selects every socket of the namespace but this one.
func (s *Socket) Broadcast() Broadcast { return s.nsp.broadcast().Except(s.id) }

// To selects the sockets in any of rooms, except this one.
func (s *Socket) To(rooms ...string) Broadcast { return s.Broadcast().To(rooms...) }

// In is the same as To.
func (s *Socket) In(rooms ...string) Broadcast { return s.To(rooms...) }

// Except selects every socket of the namespace in none of rooms, except
// this one.
func (s *Socket) Except(rooms ...string) Broadcast { return s.Broadcast().Except(rooms...) }

// Disconnect disconnects the socket from its namespace; the client is told
// and will not reconnect on its own. With close, the whole connection is
// closed too, after what is queued is written. It does nothing on a socket
// that is not connected: a middleware refuses a socket by returning an
// error.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	// The socket is gone before its DISCONNECT leaves: a client that
	// closes its connection on receiving it finds the reason set.
	s.closeWith(ReasonServerNamespaceDisconnect, &parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name})
	if close {
		s.conn.close(ReasonServerNamespaceDisconnect)
	}
}

// connectReply is the CONNECT reply's payload: the socket id, and with
// recovery on its private id.
type connectReply struct {
	SID string `json:"sid"`
	PID string `json:"pid,omitempty"`
}

// sendConnect answers the client's CONNECT.
func (s *Socket) sendConnect() {
	reply := connectReply{SID: s.id}
	if s.rec != nil {
		reply.PID = s.rec.pid
	}
	s.conn.send(&parser.Packet{
		Type:      parser.Connect,
		Namespace: s.nsp.name,
		Payload:   reply,
	}, false)
}

// onPacket handles a decoded packet for this socket.
func (s *Socket) onPacket(m *parser.Message) {
	switch m.Type {
	case parser.Event:
		s.onEvent(m)
	case parser.Ack:
		s.onAck(m)
	case parser.Disconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	}
}

// onEvent runs the handlers for an event from the client, as socket.io
// does: the OnAny handlers, then the middleware (Use), which may refuse the
// event, then, if the socket is still connected, the handlers for the
// event's name, which a middleware may have changed.
func (s *Socket) onEvent(m *parser.Message) {
	e := &Event{Name: m.Event, Args: Args(m.Args), socket: s, id: m.ID, wantsAck: m.HasID}
	// The handler lists are copy-on-write (see listeners.go), so these
	// snapshots never change: a handler may add or remove handlers, which
	// takes effect from the next event.
	s.mu.Lock()
	handlers := s.handlers
	var anyHandlers []listener[func(*Event)]
	var middleware []func(*Event) error
	if x := s.extra.Load(); x != nil {
		anyHandlers, middleware = x.any, x.middleware
	}
	s.mu.Unlock()
	for _, h := range anyHandlers {
		h.f(e)
	}
	for _, m := range middleware {
		if err := m(e); err != nil {
			s.onError(e, err)
			return
		}
	}
	if len(anyHandlers)+len(middleware) > 0 && !s.Connected() {
		return // disconnected by one of them
	}
	for _, h := range handlers {
		if h.event != e.Name {
			continue
		}
		if h.once() && !s.removeHandler(h.id) {
			continue // removed meanwhile, or already run
		}
		h.f(e)
	}
}

func (s *Socket) onAck(m *parser.Message) {
	s.mu.Lock()
	f := s.acks[m.ID]
	delete(s.acks, m.ID)
	s.mu.Unlock()
	if f != nil {
		f(Args(m.Args), true)
	}
}

// ackFunc receives a client's ack (ok true), or learns that the socket
// disconnected before the ack came (ok false).
type ackFunc func(args Args, ok bool)

// expectAck registers f to receive the ack with the given id. It reports
// false if the socket has disconnected.
func (s *Socket) expectAck(id uint64, f ackFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == socketGone {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]ackFunc)
	}
	s.acks[id] = f
	return true
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// takeAck removes the callback for ack id and returns it, or nil if it was
// not there (the ack came, or the socket disconnected).
func (s *Socket) takeAck(id uint64) ackFunc {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.acks[id]
	delete(s.acks, id)
	return f
}

// connect moves a joining socket to connected, holding what is sent to it
// until reply. It returns the rooms it joins, its own and those joined
// while the middleware ran, and the packets emitted meanwhile, to send
// after the CONNECT reply. It reports false if the socket was refused
// meanwhile.
func (s *Socket) connect() (rooms []string, packets []transport.Packet, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != socketJoining {
		return nil, nil, false
	}
	s.state = socketConnected
	s.holding.Store(true)
	rooms = []string{s.id}
	if s.early != nil {
		rooms = append(rooms, s.early.rooms...)
		packets = s.early.packets
		s.early = nil
	}
	return rooms, packets, true
}

// send encodes p and queues it for the client. While the middleware runs,
// it is held until the socket connects, or dropped if p is volatile (the
// client is not ready for it).
func (s *Socket) send(p *parser.Packet, volatile bool) error {
	return s.sendPacket(p, volatile, false)
}

// sendPacket is send, with the packet marked not to be compressed if
// noCompress.
func (s *Socket) sendPacket(p *parser.Packet, volatile, noCompress bool) error {
	frames, err := s.conn.server.codec.Encode(p)
	if err != nil {
		return err
	}
	pkts := toEnginePackets(frames, nil)
	if noCompress {
		for i := range pkts {
			pkts[i].NoCompress = true
		}
	}
	s.mu.Lock()
	switch s.state {
	case socketGone:
		s.mu.Unlock()
		return ErrDisconnected
	case socketJoining:
		if !volatile {
			early := s.earlyLocked()
			early.packets = append(early.packets, pkts...)
		}
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	alias := ""
	if p.Type == parser.Event {
		alias = trailingString(p.Args)
	}
	return s.sendOffset(pkts, volatile, "", alias)
}

// refuse ends a socket that never connected: its middleware refused it, or
// its connection closed first. Its context is done; no handler runs.
func (s *Socket) refuse() {
	s.mu.Lock()
	if s.state != socketJoining {
		s.mu.Unlock()
		return
	}
	s.state = socketGone
	s.early = nil
	s.cancelLocked()
	s.mu.Unlock()
	s.conn.removeSocket(s)
}

// cancelLocked marks the socket's context done, cancelling it if made.
func (s *Socket) cancelLocked() {
	s.cancelled = true
	if s.cancel != nil {
		s.cancel()
	}
}

// onClose disconnects the socket once: the disconnecting handlers run with
// the rooms intact, then the socket leaves every room, its namespace and
// its connection, pending acks fail (EmitWithAck returns ErrDisconnected; a
// broadcast stops waiting for this socket), and the disconnect handlers
// run. A
// socket still joining is refused instead. A panic in a handler is
// recovered as in an event handler (see Conn.recoverPanic), and the
// disconnect carries on.
func (s *Socket) onClose(reason DisconnectReason) { s.closeWith(reason, nil) }

// closeWith is onClose, sending farewell (if set) to the client once the
// socket is gone, before its handlers run.
func (s *Socket) closeWith(reason DisconnectReason, farewell *parser.Packet) {
	s.mu.Lock()
	switch s.state {
	case socketJoining:
		s.mu.Unlock()
		s.refuse()
		return
	case socketGone:
		s.mu.Unlock()
		return
	}
	s.state = socketGone
	tracked := false
	if s.rec != nil {
		if recoverable(reason) {
			_, s.rec.away = s.nsp.adapter.(RecoveryAdapter)
		}
		tracked = s.rec.tracked
	}
	disconnecting := s.onDisconnecting
	s.mu.Unlock()
	if farewell != nil {
		s.conn.send(farewell, false)
	}
	if o := s.nsp.server.obs; o != nil {
		o.Disconnected(s.nsp.name, reason)
	}
	for _, h := range disconnecting {
		s.conn.guard(func() { h.f(s, reason) })
	}
	if s.rec != nil && recoverable(reason) {
		if ra, ok := s.nsp.adapter.(RecoveryAdapter); ok {
			if err := ra.PersistSession(context.Background(), s.sessionState()); err != nil {
				s.nsp.server.logger.Warn("connection state recovery: keeping a session failed",
					"namespace", s.nsp.name, "socket", s.id, "err", err)
			}
		}
	}
	if tracked {
		if err := s.nsp.adapter.(LiveSessionAdapter).UntrackSession(context.Background(), s.rec.pid); err != nil {
			s.nsp.server.logger.Warn("connection state recovery: forgetting a connected session failed",
				"namespace", s.nsp.name, "socket", s.id, "err", err)
		}
	}
	s.leaveAll()
	s.nsp.remove(s)
	s.conn.removeSocket(s)
	s.mu.Lock()
	s.cancelLocked()
	pending := s.acks
	s.acks = nil
	disconnect := s.onDisconnect
	s.mu.Unlock()
	for _, f := range pending {
		f(nil, false)
	}
	for _, h := range disconnect {
		s.conn.guard(func() { h.f(s, reason) })
	}
}
