package session

import (
	"errors"
	"fmt"

	"github.com/ferryio/ferry/transport"
)

// Sentinel errors.
var (
	// ErrSessionClosed is returned by Session.Send after the session closed.
	// Every *CloseError also matches it with errors.Is.
	ErrSessionClosed = errors.New("session: closed")
	// ErrQueueFull is returned by Session.Send when the outbound queue holds
	// Options.MaxQueuedPackets packets: the peer is not keeping up, and the
	// session is closed with ReasonQueueFull.
	ErrQueueFull = errors.New("session: outbound queue full")
	// ErrServerClosed is returned by Engine.Shutdown and Engine.Close after
	// the first call.
	ErrServerClosed = errors.New("session: engine closed")
	// ErrUpgradeTimeout is reported in an aborted UpgradeEvent when the
	// client did not finish the upgrade within Options.UpgradeTimeout.
	ErrUpgradeTimeout = errors.New("session: upgrade timed out")
	// ErrInvalidHeartbeat closes a session whose client sent a ping: in
	// Engine.IO v4 only the server pings. It wraps
	// transport.ErrUnexpectedPacket.
	ErrInvalidHeartbeat = fmt.Errorf("session: invalid heartbeat direction: %w", transport.ErrUnexpectedPacket)
)

// CloseReason says why a session closed. The names are those socket.io
// uses.
type CloseReason int

// The close reasons.
const (
	// ReasonTransportClose: the client closed the connection, or sent a
	// close packet.
	ReasonTransportClose CloseReason = iota + 1
	// ReasonTransportError: the connection failed, or the client broke a
	// transport rule (overlapping requests, oversized body, ...).
	ReasonTransportError
	// ReasonPingTimeout: no pong came within PingTimeout of a ping.
	ReasonPingTimeout
	// ReasonParseError: the client sent a malformed packet.
	ReasonParseError
	// ReasonForcedClose: the application called Session.Close.
	ReasonForcedClose
	// ReasonServerShuttingDown: Engine.Close or Engine.Shutdown.
	ReasonServerShuttingDown
	// ReasonQueueFull: the outbound queue overflowed (a slow client).
	ReasonQueueFull
)

var reasonNames = [...]string{
	ReasonTransportClose:     "transport close",
	ReasonTransportError:     "transport error",
	ReasonPingTimeout:        "ping timeout",
	ReasonParseError:         "parse error",
	ReasonForcedClose:        "forced close",
	ReasonServerShuttingDown: "server shutting down",
	ReasonQueueFull:          "queue full",
}

// String returns the reason as socket.io names it, such as "ping timeout".
func (r CloseReason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("CloseReason(%d)", int(r))
}

// CloseError records why a session closed: Session.Err returns it, and the
// close callback receives it.
type CloseError struct {
	Reason CloseReason
	// Err is the underlying cause, if any (a read error, a decode error).
	Err error
}

// Error implements error.
func (e *CloseError) Error() string {
	if e.Err != nil {
		return "session closed: " + e.Reason.String() + ": " + e.Err.Error()
	}
	return "session closed: " + e.Reason.String()
}

// Unwrap returns the underlying cause.
func (e *CloseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrSessionClosed.
func (e *CloseError) Is(target error) bool { return target == ErrSessionClosed }

// Reason returns the CloseReason inside err, or 0 if err holds no
// *CloseError.
func Reason(err error) CloseReason {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return 0
}
