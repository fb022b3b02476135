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
	// and Ack (BinaryEvent and BinaryAck are accepted as their synonyms).
	Type Type
	// Namespace is the namespace name; "" means "/". Encode requires a
	// leading "/" (and, for the JSON codec, no ",").
	Namespace string
	// ID is the ack id, meaningful only when HasID is set. Zero is a valid
	// id. An Ack needs one; Connect, Disconnect and ConnectError take none.
	ID    uint64
	HasID bool
	// Args holds the arguments of an Event (the first is the event name: a
	// string that IsReserved refuses, or a finite number) or of an Ack.
	// Values may be any encodable value: nil, bool, numbers, strings, []byte
	// (binary), slices, maps with string keys (written with sorted keys),
	// structs (json tags name their fields and fix their order), time.Time,
	// or a Raw, which is written back unchanged when it comes from the same
	// codec. Encode copies what it needs: the caller keeps its values.
	Args []any
	// Payload is the object of a Connect (the client's auth, or the server's
	// {"sid": ...} reply) or of a ConnectError (an object or a string). Nil
	// means absent, which a ConnectError does not allow. To control the
	// order of keys on the wire, use a struct rather than a map.
	Payload any
}

// Message is a decoded Socket.IO packet. Arguments are left encoded until
// the caller decodes them into its own types.
type Message struct {
	// Type is the packet kind, never BinaryEvent or BinaryAck: decoders
	// report Event and Ack.
	Type Type
	// Namespace is the namespace name, "/" when the packet names none.
	Namespace string
	// ID is the ack id, meaningful only when HasID is set. Zero is a valid
	// id.
	ID    uint64
	HasID bool
	// Event is the event name of an Event. A numeric name is given as
	// JavaScript writes the number, such as "42" or "1.5".
	Event string
	// Args holds an Event's arguments after the name, or an Ack's arguments.
	Args []Raw
	// Payload is a Connect's or ConnectError's object, or nil when absent.
	Payload Raw
}

// Raw is one encoded value inside a decoded packet. It may be decoded any
// number of times, and passed back in Packet.Args to relay it.
type Raw interface {
	// Decode decodes the value into v, a non-nil pointer, as
	// encoding/json.Unmarshal would, json struct tags included. Decoding
	// into *any yields nil, bool, int64 (uint64 above math.MaxInt64) for
	// integers, float64 for other numbers, string, []byte for binary, []any
	// and map[string]any; the msgpack codec also yields time.Time for a
	// JavaScript Date. Each call returns memory of its own. Errors about
	// the target's type come from the underlying library and do not wrap
	// ErrInvalidPacket.
	Decode(v any) error
}

// Frame is one Engine.IO message produced by an encoder.
type Frame struct {
	// Data is the message's payload.
	Data []byte
	// Binary marks a binary message: a binary WebSocket frame, or a
	// "b"-prefixed base64 record on long-polling. Otherwise Data is text.
	Binary bool
}

// Codec encodes and decodes Socket.IO packets in one wire format.
// A Codec is safe for concurrent use; its Decoders are not.
type Codec interface {
	// Name returns the codec's name: "msgpack" or "json".
	Name() string
	// Encode returns the Engine.IO messages that carry p, in order. An error
	// is a *PacketError wrapping ErrInvalidPacket: p breaks a protocol rule
	// or holds a value that cannot be encoded.
	Encode(p *Packet) ([]Frame, error)
	// NewDecoder returns a decoder for one connection's inbound messages,
	// within the default Limits.
	NewDecoder() Decoder
	// NewLimitedDecoder returns a decoder for one connection's inbound
	// messages that refuses packets beyond l. Zero fields of l take their
	// defaults.
	NewLimitedDecoder(l Limits) Decoder
}

// Decoder turns one connection's Engine.IO messages into Messages. It keeps
// state between calls (the JSON codec's pending binary attachments), so use
// one per connection.
type Decoder interface {
	// Decode consumes one Engine.IO message. It returns the completed
	// Message, or nil while binary attachments are still awaited. It
	// validates the whole message, within its Limits, before it copies
	// what it keeps, so the caller may reuse data. Any error is a
	// *PacketError wrapping ErrInvalidPacket and leaves the Decoder
	// unusable (later calls fail too): the connection must close with
	// reason "parse error". A message of 4 GiB or more is refused.
	Decode(data []byte, binary bool) (*Message, error)
}
