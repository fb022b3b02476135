package ferry

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/transport"
)

// RecoveryOptions turns on connection state recovery (socket.io 4.6's
// connectionStateRecovery): a client that loses its connection and comes
// back within MaxDisconnectionDuration gets back its socket id, its rooms,
// its data, and every event it missed meanwhile, in order, exactly once.
//
// On the wire, as in socket.io: the CONNECT reply carries a private id
// ("pid") beside the socket id, and each event a socket may need replayed
// carries an offset as its last argument (client handlers see it as an
// extra argument). A reconnecting client sends both back in its CONNECT
// auth; the official socket.io-client 4.6+ then reports
// socket.recovered === true, and Socket.Recovered reports it here.
//
// What is replayed: events broadcast to the socket's rooms (its own room
// included, which is where Socket.Emit sends with recovery on) that are not
// volatile and ask for no ack. Recovery fails cleanly, into a fresh
// connection with a new id, when the window has passed, when the client
// missed more than MaxMissedPackets events or MaxMissedBytes bytes, or when
// what it missed is no longer kept (see LogPackets). The socket must have
// disconnected for a reason that allows it: a transport close or error, a
// ping timeout, a forced close, or the server shutting down; not when
// either side asked to disconnect.
//
// Ferry goes beyond socket.io where the wire allows: a client that received
// no event before it lost its connection (and so sends no offset) recovers
// too, and so does one whose last event ended in a string without being an
// offset (an event with an ack, or a volatile one), which socket.io-client
// takes for an offset.
//
// With one server the default adapter keeps the state; across servers an
// adapter that implements RecoveryAdapter must (such as a Redis Streams
// adapter).
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a disconnected socket's state is
	// kept. Default 2 minutes.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace's middleware for a recovered
	// socket too. Default false: it is skipped, as with socket.io's
	// skipMiddlewares: true.
	RunMiddlewares bool
	// MaxMissedPackets is the most events a socket may have missed and
	// still recover. Default 1,000.
	MaxMissedPackets int
	// MaxMissedBytes is the most bytes (as encoded) of events a socket may
	// have missed and still recover. Default 1 MiB.
	MaxMissedBytes int
	// LogPackets and LogBytes bound, per namespace, the events the default
	// adapter keeps for replay: the newest ones sent within
	// MaxDisconnectionDuration, at most LogPackets of them and LogBytes in
	// all. Defaults 10,000 and 16 MiB.
	LogPackets int
	LogBytes   int
}

func (o *RecoveryOptions) withDefaults() *RecoveryOptions {
	if o == nil {
		return nil
	}
	c := *o
	if c.MaxDisconnectionDuration <= 0 {
		c.MaxDisconnectionDuration = 2 * time.Minute
	}
	if c.MaxMissedPackets <= 0 {
		c.MaxMissedPackets = 1000
	}
	if c.MaxMissedBytes <= 0 {
		c.MaxMissedBytes = 1 << 20
	}
	if c.LogPackets <= 0 {
		c.LogPackets = 10_000
	}
	if c.LogBytes <= 0 {
		c.LogBytes = 16 << 20
	}
	return &c
}

// Recovery returns the server's Options.ConnectionStateRecovery with its
// defaults filled in (a copy), or nil when recovery is off. Adapters that
// keep sessions for several servers read it.
func (s *Server) Recovery() *RecoveryOptions {
	if s.recovery == nil {
		return nil
	}
	c := *s.recovery
	return &c
}

// SessionState is what connection state recovery keeps of a socket that
// disconnected, to restore it.
type SessionState struct {
	// SID is the socket's id, PID its private id.
	SID, PID string
	// Rooms are the rooms it was in, its own included.
	Rooms []string
	// Data is what it stored with SetData.
	Data any
	// ConnectOffset is the offset of the newest event the adapter knew
	// when the socket connected: a client that sends no offset (it got no
	// event) missed what came after it.
	ConnectOffset string
	// Aliases maps the last argument of an event sent without an offset,
	// when that argument was a string, to the offset of the last event
	// sent before it: socket.io-client takes such a string for an offset.
	Aliases map[string]string
}

// RecoveryAdapter is implemented by adapters that keep what connection
// state recovery needs; MemoryAdapter does, for one server. With
// Options.ConnectionStateRecovery set, such an adapter gives each event it
// broadcasts that may be replayed an offset (EncodedPacket.Offset) before
// delivering it, which the server appends as the event's last argument.
type RecoveryAdapter interface {
	Adapter
	// PersistSession keeps s, a socket that disconnected for a reason that
	// allows recovery, for Options.ConnectionStateRecovery's
	// MaxDisconnectionDuration.
	PersistSession(ctx context.Context, s *SessionState) error
	// RestoreSession takes back the session with private id pid (it can
	// be restored once), with the events its socket missed after offset
	// ("" when the client got none: after its ConnectOffset, or an alias).
	// If it can be restored, it calls admit with them, in order, and adds
	// the socket (SID) to the session's rooms once admit returns true; it
	// does both so that any event broadcast to those rooms is either among
	// the missed ones or delivered live afterwards, never both, never
	// neither. It reports whether admit was called, with false for a
	// session it does not know, or that cannot be restored (expired, its
	// offset no longer known, too much missed).
	RestoreSession(ctx context.Context, pid, offset string, admit func(s *SessionState, missed []*EncodedPacket) bool) (bool, error)
	// Offset returns the offset of the newest event broadcast so far.
	Offset() string
}

// LiveSessionAdapter is implemented by RecoveryAdapters that also keep
// the state of connected sockets, so that a socket whose server stops
// without persisting its session (killed, or cut off) can still be
// restored on another server. With Options.ConnectionStateRecovery set,
// the server calls TrackSession once a socket is connected (fresh or
// restored) and UntrackSession once it disconnects, after PersistSession;
// the adapter keeps the socket's rooms current itself. RestoreSession then
// also restores the sessions of sockets tracked by a server known to be
// dead.
type LiveSessionAdapter interface {
	RecoveryAdapter
	// TrackSession starts keeping s, the state of a socket that just
	// connected. It must not block on the network, nor call back into the
	// socket.
	TrackSession(ctx context.Context, s *SessionState) error
	// UntrackSession stops keeping the socket with private id pid, which
	// disconnected. It must not block on the network.
	UntrackSession(ctx context.Context, pid string) error
}

// recoverable reports whether a socket that disconnected for reason may
// recover, as socket.io decides: not when either side asked for it.
func recoverable(reason DisconnectReason) bool {
	switch reason {
	case ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonForcedClose, ReasonServerShuttingDown:
		return true
	}
	return false
}

// recoveryLog is a MemoryAdapter's store for recovery: the events it
// broadcast that may be replayed, and the sessions of disconnected
// sockets.
type recoveryLog struct {
	opts *RecoveryOptions
	// prefix starts every offset this log gives: a tag of its own, so that
	// an offset from another server, or from this one before a restart,
	// is never taken for one of these.
	prefix string

	mu       sync.Mutex
	next     uint64                  // guarded by mu: the sequence number of the next entry
	entries  []logEntry              // guarded by mu: oldest first
	bytes    int                     // guarded by mu: of entries
	sessions map[string]*storedState // guarded by mu: by pid
	expiry   *time.Timer             // guarded by mu: drops expired sessions and entries
	now      func() time.Time        // the clock; time.Now outside tests
	stopped  bool                    // guarded by mu: the adapter closed
}

// logEntry is one event kept for replay.
type logEntry struct {
	seq  uint64
	at   time.Time
	opts BroadcastOptions
	pkt  *EncodedPacket
	size int
}

// storedState is a persisted session and when it expires.
type storedState struct {
	state   *SessionState
	expires time.Time
}

func newRecoveryLog(opts *RecoveryOptions) *recoveryLog {
	return &recoveryLog{
		opts:     opts,
		prefix:   sid.New()[:8] + "-",
		next:     1,
		sessions: make(map[string]*storedState),
		now:      time.Now,
	}
}

// offset formats the offset of entry seq.
func (l *recoveryLog) offset(seq uint64) string {
	return l.prefix + strconv.FormatUint(seq, 36)
}

// parse returns the sequence number of an offset this log gave.
func (l *recoveryLog) parse(offset string) (uint64, bool) {
	rest, ok := strings.CutPrefix(offset, l.prefix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 36, 64)
	return seq, err == nil
}

// head returns the offset of the newest entry ever appended.
func (l *recoveryLog) head() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.offset(l.next - 1)
}

// append gives pkt its offset, has encode encode it (with the offset), and
// keeps it for replay. Entries are kept in offset order, so encoding
// happens under the log's lock.
func (l *recoveryLog) append(pkt *EncodedPacket, opts BroadcastOptions, encode func() ([]transport.Packet, error)) ([]transport.Packet, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next
	pkt.Offset = l.offset(seq)
	frames, err := encode()
	if err != nil || l.stopped {
		return frames, err
	}
	l.next++
	size := 0
	for _, f := range frames {
		size += len(f.Data)
	}
	now := l.now()
	l.entries = append(l.entries, logEntry{seq: seq, at: now, opts: opts, pkt: pkt, size: size})
	l.bytes += size
	l.trimLocked(now)
	l.armLocked()
	return frames, nil
}

// trimLocked drops the entries beyond the log's bounds.
func (l *recoveryLog) trimLocked(now time.Time) {
	cut := 0
	for cut < len(l.entries) {
		e := l.entries[cut]
		over := len(l.entries)-cut > l.opts.LogPackets || l.bytes > l.opts.LogBytes
		if !over && now.Sub(e.at) < l.opts.MaxDisconnectionDuration {
			break
		}
		l.bytes -= e.size
		cut++
	}
	if cut > 0 {
		clear(l.entries[:cut])
		l.entries = l.entries[cut:]
	}
}

// armLocked makes sure expired entries and sessions are dropped even when
// nothing else happens.
func (l *recoveryLog) armLocked() {
	if l.expiry != nil || l.stopped || (len(l.entries) == 0 && len(l.sessions) == 0) {
		return
	}
	l.expiry = time.AfterFunc(l.opts.MaxDisconnectionDuration, l.expire)
}

// expire drops what has outlived the window.
func (l *recoveryLog) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expiry = nil
	now := l.now()
	l.trimLocked(now)
	for pid, st := range l.sessions {
		if !now.Before(st.expires) {
			delete(l.sessions, pid)
		}
	}
	l.armLocked()
}

// stop releases the log's timer.
func (l *recoveryLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.expiry != nil {
		l.expiry.Stop()
		l.expiry = nil
	}
	l.entries, l.sessions = nil, nil
}

// persist keeps a session.
func (l *recoveryLog) persist(s *SessionState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.sessions[s.PID] = &storedState{state: s, expires: l.now().Add(l.opts.MaxDisconnectionDuration)}
	l.armLocked()
}

// take removes and returns the session pid with the events its socket
// missed after offset, or nil if it cannot be restored.
func (l *recoveryLog) take(pid, offset string) (*SessionState, []*EncodedPacket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.sessions[pid]
	if st == nil {
		return nil, nil
	}
	delete(l.sessions, pid)
	now := l.now()
	if !now.Before(st.expires) {
		return nil, nil
	}
	s := st.state
	if offset == "" {
		offset = s.ConnectOffset
	} else if alias, ok := s.Aliases[offset]; ok {
		offset = alias
	}
	after, ok := l.parse(offset)
	if !ok || after >= l.next {
		return nil, nil
	}
	// Nothing from before the socket connected: socket.io-client keeps
	// its last offset across a fresh session, and so may send one older
	// than this session.
	if joined, ok := l.parse(s.ConnectOffset); ok && after < joined {
		after = joined
	}
	l.trimLocked(now)
	// The entries after the offset must all still be here.
	first := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].seq > after })
	if after+1 < l.next && (first == len(l.entries) || l.entries[first].seq != after+1) {
		return nil, nil
	}
	var missed []*EncodedPacket
	bytes := 0
	for _, e := range l.entries[first:] {
		if !selects(e.opts, s.Rooms) {
			continue
		}
		bytes += e.size
		if len(missed) == l.opts.MaxMissedPackets || bytes > l.opts.MaxMissedBytes {
			return nil, nil
		}
		missed = append(missed, e.pkt)
	}
	return s, missed
}

// selects reports whether a broadcast with opts reaches a socket in rooms.
func selects(opts BroadcastOptions, rooms []string) bool {
	for _, r := range opts.Except {
		for _, mine := range rooms {
			if r == mine {
				return false
			}
		}
	}
	if len(opts.Rooms) == 0 {
		return true
	}
	for _, r := range opts.Rooms {
		for _, mine := range rooms {
			if r == mine {
				return true
			}
		}
	}
	return false
}
