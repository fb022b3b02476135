package ferry

import (
	"errors"
	"fmt"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/session"
)

// Sentinel errors.
var (
	// ErrServerClosed is returned by Server.Close and Server.Shutdown after
	// the first call.
	ErrServerClosed = errors.New("ferry: server closed")
	// ErrDisconnected is returned by emits on a socket that has
	// disconnected, and by EmitWithAck when the socket disconnects before
	// the ack arrives.
	ErrDisconnected = errors.New("ferry: socket disconnected")
	// ErrReservedEvent is returned when emitting an event name that
	// Socket.IO reserves: connect, connect_error, disconnect, disconnecting,
	// newListener, removeListener.
	ErrReservedEvent = errors.New("ferry: reserved event name")
	// ErrNoAck is returned by Event.Ack when the client did not ask for an
	// acknowledgement.
	ErrNoAck = errors.New("ferry: the client did not ask for an ack")
	// ErrAlreadyAcked is returned by Event.Ack after the first call: an
	// event is acknowledged at most once.
	ErrAlreadyAcked = errors.New("ferry: event already acknowledged")
	// ErrDropped is returned by EmitWithAck on a Volatile Emitter when the
	// event was dropped because the client was not ready for it: no ack
	// will come.
	ErrDropped = errors.New("ferry: volatile event dropped")
	// ErrArgCount is returned (wrapped) by Args.Decode when the event
	// carries fewer arguments than targets. It is parser.ErrArgCount.
	ErrArgCount = parser.ErrArgCount
)

// ConnectError refuses a namespace connection. Returned by a middleware, it
// reaches the client's connect_error handler as err.message and err.data.
// Any other error returned by a middleware is sent with its Error() text as
// the message and no data.
type ConnectError struct {
	Message string
	Data    any
}

// Error implements error.
func (e *ConnectError) Error() string { return "ferry: connection refused: " + e.Message }

// DisconnectReason says why a socket disconnected, named as socket.io names
// it.
type DisconnectReason int

// The disconnect reasons.
const (
	// ReasonServerNamespaceDisconnect: the server called Socket.Disconnect.
	ReasonServerNamespaceDisconnect DisconnectReason = iota + 1
	// ReasonClientNamespaceDisconnect: the client disconnected the socket.
	ReasonClientNamespaceDisconnect
	// ReasonServerShuttingDown: Server.Close or Server.Shutdown.
	ReasonServerShuttingDown
	// ReasonPingTimeout: the client stopped answering pings.
	ReasonPingTimeout
	// ReasonTransportClose: the client closed the connection.
	ReasonTransportClose
	// ReasonTransportError: the connection failed, or the client broke a
	// transport rule, or could not keep up with its queue.
	ReasonTransportError
	// ReasonParseError: the client sent a malformed packet.
	ReasonParseError
	// ReasonForcedClose: the connection was closed by the server, for
	// another socket on it, or with Conn.Close.
	ReasonForcedClose
	// ReasonServerError: a handler run for the connection (middleware, a
	// connection, event, OnAny, disconnect, upgrade or close handler)
	// panicked. The panic is logged with its stack and the connection is
	// closed; other connections carry on. socket.io has no such reason (a
	// throwing listener there is the process's uncaught exception); the
	// name says that the server, not the client or the network, failed.
	ReasonServerError
)

var disconnectNames = [...]string{
	ReasonServerNamespaceDisconnect: "server namespace disconnect",
	ReasonClientNamespaceDisconnect: "client namespace disconnect",
	ReasonServerShuttingDown:        "server shutting down",
	ReasonPingTimeout:               "ping timeout",
	ReasonTransportClose:            "transport close",
	ReasonTransportError:            "transport error",
	ReasonParseError:                "parse error",
	ReasonForcedClose:               "forced close",
	ReasonServerError:               "server error",
}

// String returns the socket.io name of r, such as "ping timeout".
func (r DisconnectReason) String() string {
	if r > 0 && int(r) < len(disconnectNames) {
		return disconnectNames[r]
	}
	return fmt.Sprintf("DisconnectReason(%d)", int(r))
}

// disconnectReason maps why an engine session closed to the reason its
// sockets report.
func disconnectReason(err error) DisconnectReason {
	switch session.Reason(err) {
	case session.ReasonTransportClose:
		return ReasonTransportClose
	case session.ReasonPingTimeout:
		return ReasonPingTimeout
	case session.ReasonParseError:
		return ReasonParseError
	case session.ReasonServerShuttingDown:
		return ReasonServerShuttingDown
	case session.ReasonForcedClose:
		return ReasonForcedClose
	default:
		return ReasonTransportError
	}
}
