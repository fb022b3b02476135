package transport

import (
	"errors"
	"fmt"
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
