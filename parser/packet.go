package parser

import "fmt"

// Type is the kind of a Socket.IO packet.
type Type byte

// The Socket.IO v5 packet types, in wire order.
const (
	Connect      Type = iota // join a namespace; the reply carries {"sid": ...}
	Disconnect               // leave a namespace
	Event                    // an event: [name, args...]
	Ack                      // the reply to an event that asked for one
	ConnectError             // a refused Connect: {"message": ..., "data": ...}
	BinaryEvent              // an Event with binary attachments (JSON parser only)
	BinaryAck                // an Ack with binary attachments (JSON parser only)
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the protocol name of t, such as "EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Packet is a Socket.IO packet to encode.
type Packet struct {
	// Type is the packet kind. Encoders choose BinaryEvent and BinaryAck
	// themselves when the JSON codec finds binary data; callers use Event
	// and Ack.
	Type Type
	// Namespace is the namespace name; "" means "/".
	Namespace string
	// ID is the ack id, meaningful only when HasID is set. Zero is a valid id.
	ID    uint64
	HasID bool
	// Args holds the arguments of an Event (the first is the event name) or
	// of an Ack. Values may be any encodable value: nil, bool, numbers,
	// strings, []byte (binary), slices, maps with string keys, structs, or a
	// Raw decoded by the same codec, which is written back unchanged.
	Args []any
	// Payload is the object of a Connect (the client's auth, or the server's
	// {"sid": ...} reply) or of a ConnectError. Nil means absent.
	Payload any
}

// Message is a decoded Socket.IO packet. Arguments are left encoded until
// the caller decodes them into its own types.
type Message struct {
	Type      Type // never BinaryEvent or BinaryAck: decoders report Event and Ack
	Namespace string
	ID        uint64
	HasID     bool
	// Event is the event name of an Event (a numeric name is given in
	// decimal).
	Event string
	// Args holds an Event's arguments after the name, or an Ack's arguments.
	Args []Raw
	// Payload is a Connect's or ConnectError's object, or nil when absent.
	Payload Raw
}

// Raw is one encoded value inside a decoded packet.
type Raw interface {
	// Decode decodes the value into v, a non-nil pointer, as
	// encoding/json.Unmarshal would. Decoding into *any yields nil, bool,
	// int64, uint64 or float64, string, []byte for binary, []any and
	// map[string]any.
	Decode(v any) error
}

// Frame is one Engine.IO message produced by an encoder.
type Frame struct {
	Data   []byte
	Binary bool
}

// Codec encodes and decodes Socket.IO packets in one wire format.
// A Codec is safe for concurrent use; its Decoders are not.
type Codec interface {
	// Name returns the codec's name: "msgpack" or "json".
	Name() string
	// Encode returns the Engine.IO messages that carry p, in order.
	Encode(p *Packet) ([]Frame, error)
	// NewDecoder returns a decoder for one connection's inbound messages.
	NewDecoder() Decoder
}

// Decoder turns one connection's Engine.IO messages into Messages. It keeps
// state between calls (the JSON codec's pending binary attachments), so use
// one per connection.
type Decoder interface {
	// Decode consumes one Engine.IO message. It returns the completed
	// Message, or nil while binary attachments are still awaited. Any error
	// wraps ErrInvalidPacket and leaves the Decoder unusable: the connection
	// must close with reason "parse error".
	Decode(data []byte, binary bool) (*Message, error)
}
