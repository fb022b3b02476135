package transport

// Names of the transports Ferry implements, as they appear in the
// "transport" query parameter.
const (
	NamePolling   = "polling"
	NameWebSocket = "websocket"
)

// Transport carries one session's packets over one kind of connection.
//
// A session has exactly one current transport at a time (two for a moment
// while upgrading). The session owns the outbound queue; a transport pulls
// from it with Session.Take when it can write, and pushes what it reads to
// Session.Deliver in arrival order. Implementations must make every method
// safe for concurrent use.
type Transport interface {
	// Name returns the transport's query-parameter name, such as "polling".
	Name() string
	// Wake tells the transport that packets are queued for it. It must not
	// block: a transport that cannot write now takes them later.
	Wake()
	// Close ends the transport and releases its resources. It does not
	// flush; the session arranges a final flush before closing. It is
	// idempotent and returns nil after the first call. Like every end, it
	// is followed by exactly one Session.TransportClosed call, with a nil
	// reason, once no Take or Deliver call of the transport is running;
	// that may happen before Close returns. The full contract is in
	// package transporttest.
	Close() error
	// Done is closed once the transport has ended and its
	// TransportClosed call has returned.
	Done() <-chan struct{}
}

// Session is the session-layer side of a Transport: what a transport calls
// to fetch packets to write and to hand over packets it read. The session
// package implements it; transport implementations and their tests use it.
type Session interface {
	// Take removes and returns the packets queued for t to write, or nil when
	// none are queued or t is not (or no longer) the session's writer. The
	// second result reports that the session is closing and these are the
	// last packets: after writing them the transport should close.
	Take(t Transport) (pkts []Packet, last bool)
	// Deliver hands one packet read by t to the session, in arrival order.
	// A non-nil error means the session rejected it and is closing.
	Deliver(t Transport, p Packet) error
	// TransportClosed reports, once, that t ended; err says why (nil when
	// t ended by Close or after writing a last batch).
	TransportClosed(t Transport, err error)
}
