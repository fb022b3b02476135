package transport

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrInvalidPacket is wrapped by every *DecodeError: test for it with
// errors.Is to recognise malformed input from a peer.
var ErrInvalidPacket = errors.New("transport: invalid packet")

// DecodeError describes malformed Engine.IO input. DecodePacket and
// DecodePayload return it.
type DecodeError struct {
	// Offset is the byte offset of the bad record within a payload (0 for
	// a single packet).
	Offset int
	// Reason says what was wrong, without echoing the input.
	Reason string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("transport: invalid packet at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap returns ErrInvalidPacket.
func (e *DecodeError) Unwrap() error { return ErrInvalidPacket }

// ErrTransportClosed is returned by a Transport's methods once it is closed.
var ErrTransportClosed = errors.New("transport: closed")

// ErrorCode is an Engine.IO request error code, sent in the JSON body
// {"code":N,"message":"..."} of a refused HTTP request.
type ErrorCode int

// The Engine.IO error codes.
const (
	CodeUnknownTransport   ErrorCode = 0 // "Transport unknown"
	CodeUnknownSID         ErrorCode = 1 // "Session ID unknown"
	CodeBadHandshakeMethod ErrorCode = 2 // "Bad handshake method"
	CodeBadRequest         ErrorCode = 3 // "Bad request"
	CodeForbidden          ErrorCode = 4 // "Forbidden"
	CodeUnsupportedVersion ErrorCode = 5 // "Unsupported protocol version"
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// String returns the message the reference server sends with c.
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", int(c))
}

// AppendJSON appends the JSON error body for c to dst.
func (c ErrorCode) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c), 10)
	dst = append(dst, `,"message":`...)
	dst = strconv.AppendQuote(dst, c.String())
	return append(dst, '}')
}

// ErrPeerClosed is passed to Session.TransportClosed when the peer ended the
// connection in an orderly way (a WebSocket close frame, for example); the
// session reports it as "transport close" rather than "transport error".
var ErrPeerClosed = errors.New("transport: closed by peer")

// ErrUnexpectedPacket is wrapped by the errors a session returns from
// Deliver for a well-formed packet it does not accept where it came (a ping
// from a client, a message on a WebSocket still being probed): the peer
// broke the protocol, and the transport ends with that error.
var ErrUnexpectedPacket = errors.New("transport: unexpected packet")
