package parser

import (
	"errors"
	"fmt"
)

// ErrInvalidPacket is wrapped by every error that Encode and Decode return:
// test for it with errors.Is. From a Decoder it means the peer broke the
// protocol, and the connection must close with reason "parse error".
var ErrInvalidPacket = errors.New("parser: invalid packet")

// PacketError describes a packet that a codec refused to encode or decode.
// Every error from a Codec's Encode and from a Decoder is a *PacketError; it
// wraps ErrInvalidPacket and, when there is one, the underlying cause.
type PacketError struct {
	// Codec is the codec's name: "msgpack" or "json".
	Codec string
	// Op is "encode" or "decode".
	Op string
	// Reason says what was wrong, without echoing the input.
	Reason string
	// Err is the underlying error, such as one from encoding/json or from
	// the msgpack library, or nil.
	Err error
}

// Error implements error.
func (e *PacketError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("parser: %s %s: %s: %v", e.Codec, e.Op, e.Reason, e.Err)
	}
	return fmt.Sprintf("parser: %s %s: %s", e.Codec, e.Op, e.Reason)
}

// Unwrap returns ErrInvalidPacket and, if set, Err.
func (e *PacketError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidPacket, e.Err}
	}
	return []error{ErrInvalidPacket}
}

// Names used in PacketError.Codec and PacketError.Op.
const (
	nameMsgpack = "msgpack"
	nameJSON    = "json"
	opEncode    = "encode"
	opDecode    = "decode"
)

func encodeError(codec, reason string, err error) error {
	return &PacketError{Codec: codec, Op: opEncode, Reason: reason, Err: err}
}

func decodeError(codec, reason string, err error) error {
	return &PacketError{Codec: codec, Op: opDecode, Reason: reason, Err: err}
}
