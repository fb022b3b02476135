package client

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a Client's and its Sockets' methods once
// Client.Close has been called, and fails acknowledgements still pending at
// that moment.
var ErrClosed = errors.New("client: closed")

// ErrInactive is returned by Socket.Emit and Socket.EmitWithAck when the
// socket is not active: Connect was never called, or the socket was
// disconnected by either side, refused by the server, or gave up
// reconnecting. Call Socket.Connect to activate it again.
var ErrInactive = errors.New("client: socket is not active")

// ErrDisconnected is matched (with errors.Is) by every *DisconnectError: an
// acknowledgement that can no longer arrive because its socket was
// disconnected, or a Connect that failed because the connection was lost.
var ErrDisconnected = errors.New("client: disconnected")

// ErrReservedEvent is returned by Socket.Emit and Socket.EmitWithAck for the
// event names Socket.IO reserves: "connect", "connect_error", "disconnect",
// "disconnecting", "newListener" and "removeListener".
var ErrReservedEvent = errors.New("client: reserved event name")

// ErrNoAck is returned by Event.Ack when the server did not ask for an
// acknowledgement.
var ErrNoAck = errors.New("client: event does not expect an ack")

// ErrAckSent is returned by Event.Ack when the event was already
// acknowledged: the server accepts one acknowledgement per event.
var ErrAckSent = errors.New("client: event already acknowledged")

// ErrQueueFull is returned by Socket.Emit, Socket.EmitWithAck and Event.Ack
// when an outbound queue would exceed Options.MaxQueuedPackets: the server
// or the network is not keeping up. The packets are refused, and the
// connection is closed with ReasonQueueFull (or, when the Socket's buffer of
// events emitted while not connected overflowed, the Socket is disconnected
// and stops reconnecting). The acknowledgements this fails are
// *DisconnectErrors whose Err is ErrQueueFull.
var ErrQueueFull = errors.New("client: outbound queue full")

// ErrReconnectFailed is the error Socket.Connect returns when the client gave
// up after Options.ReconnectionAttempts attempts.
var ErrReconnectFailed = errors.New("client: reconnection failed")

// DisconnectReason says why a socket was disconnected. The values are
// socket.io-client's reason strings, except ReasonQueueFull.
type DisconnectReason string

// The reasons a socket is disconnected, named as socket.io-client names
// them.
const (
	// ReasonServerDisconnect: the server disconnected the socket. The client
	// does not reconnect it.
	ReasonServerDisconnect DisconnectReason = "io server disconnect"
	// ReasonClientDisconnect: Socket.Disconnect or Client.Close was called.
	ReasonClientDisconnect DisconnectReason = "io client disconnect"
	// ReasonTransportClose: the server closed the connection, or it was cut.
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonTransportError: an HTTP request or WebSocket write failed.
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonPingTimeout: the server sent no ping within pingInterval +
	// pingTimeout.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the server sent a packet the parser rejected.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonQueueFull: an outbound queue exceeded Options.MaxQueuedPackets
	// (see ErrQueueFull). This reason is Ferry's own (the server's name for
	// the same rule); socket.io-client has no outbound bound.
	ReasonQueueFull DisconnectReason = "queue full"
)

// String returns the reason as socket.io-client spells it.
func (r DisconnectReason) String() string { return string(r) }

// Reconnects reports whether the client reconnects after a disconnection for
// this reason (when reconnection is enabled): it does for every reason except
// the two deliberate ones, ReasonServerDisconnect and ReasonClientDisconnect.
func (r DisconnectReason) Reconnects() bool {
	return r != ReasonServerDisconnect && r != ReasonClientDisconnect
}

// DisconnectError reports a lost connection. It fails acknowledgements that
// were sent before the loss and, when the socket stops for good, its
// Connect. It matches ErrDisconnected with errors.Is.
type DisconnectError struct {
	// Reason is why the socket was disconnected.
	Reason DisconnectReason
	// Err is the underlying transport error, if any.
	Err error
}

// Error implements error.
func (e *DisconnectError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("client: disconnected (%s): %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("client: disconnected (%s)", e.Reason)
}

// Unwrap returns the underlying transport error.
func (e *DisconnectError) Unwrap() error { return e.Err }

// Is reports whether target is ErrDisconnected.
func (e *DisconnectError) Is(target error) bool { return target == ErrDisconnected }

// ConnectError is the server's refusal of a namespace CONNECT (a
// CONNECT_ERROR packet), for example from a middleware. Socket.Connect
// returns it and Socket.OnConnectError handlers receive it.
type ConnectError struct {
	// Namespace is the refused namespace.
	Namespace string
	// Message is the server's error message.
	Message string
	// Data is the error's data, decoded as by parser.Raw.Decode into an
	// *any (nil when the server sent none).
	Data any
}

// Error implements error.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("client: connect to namespace %q refused: %s", e.Namespace, e.Message)
}

// HTTPError is an HTTP error answer from the Engine.IO endpoint, such as
// {"code":5,"message":"Unsupported protocol version"} to a handshake or
// {"code":1,"message":"Session ID unknown"} to a poll. Dial returns it when
// the handshake is refused.
type HTTPError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the Engine.IO error code from the JSON body, or -1 when the
	// body held none.
	Code int
	// Message is the Engine.IO error message, or the start of the body.
	Message string
}

// Error implements error.
func (e *HTTPError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("client: HTTP %d, engine.io code %d: %s", e.StatusCode, e.Code, e.Message)
	}
	return fmt.Sprintf("client: HTTP %d: %s", e.StatusCode, e.Message)
}
