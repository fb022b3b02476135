package transport

import (
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// PacketType is the kind of an Engine.IO packet.
type PacketType byte

// The Engine.IO v4 packet types, in wire order ('0' to '6').
const (
	Open    PacketType = iota // server to client: the handshake JSON
	Close                     // either way: end the session
	Ping                      // server to client: heartbeat ("2probe" from the client while upgrading)
	Pong                      // client to server: heartbeat reply ("3probe" from the server while upgrading)
	Message                   // either way: application data, text or binary
	Upgrade                   // client to server: commit the switch to a new transport
	Noop                      // server to client: release a parked long-poll
)

var packetTypeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the protocol name of t, such as "message".
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

// Packet is one Engine.IO packet.
type Packet struct {
	// Type is the packet kind.
	Type PacketType
	// Data is the payload: the handshake JSON for Open, "probe" for probe
	// pings and pongs, the application bytes for Message. It may be empty.
	Data []byte
	// Binary marks a Message whose Data is binary. It travels as a binary
	// WebSocket frame, or as a "b"-prefixed base64 record on long-polling.
	// Only Message packets may be binary.
	Binary bool
	// Shared, if set, marks a packet sent unchanged to many sessions (a
	// broadcast): transports may cache its encoded frame there, so that it
	// is framed once for all of them. Nil for a packet sent once.
	Shared *FrameCache
	// NoCompress asks transports not to compress the packet (socket.io's
	// compress(false)): a WebSocket sends it in an uncompressed frame even
	// when permessage-deflate is on, and a long-polling response made only
	// of such packets is not compressed.
	NoCompress bool
}

// FrameCache holds one transport-specific encoding of a packet, built on
// first use and shared by every session the packet is sent to. It is safe
// for concurrent use.
type FrameCache struct {
	once  sync.Once
	frame any
	// Burst, if set, is the sending server's count of broadcasts being
	// handed out, which transports may consult before they write.
	Burst *Burst
}

// Burst counts the broadcasts a server is handing out to their targets at
// the moment: queueing a packet for each target session. An application
// that broadcasts several messages in a row is in a burst from the first
// to the last. A transport holding a broadcast packet may wait (briefly,
// and bounded) while a burst is in progress, so that the packets leave in
// one write. The zero value is ready for use; it is safe for concurrent
// use.
type Burst struct{ n atomic.Int32 }

// Begin records that a broadcast started.
func (b *Burst) Begin() { b.n.Add(1) }

// End records that a broadcast ended.
func (b *Burst) End() { b.n.Add(-1) }

// Active reports whether a broadcast is being handed out.
func (b *Burst) Active() bool { return b.n.Load() > 0 }

// Frame returns the cached frame, building it with build on the first call.
// Every caller must pass a build function producing the same kind of value.
func (c *FrameCache) Frame(build func() any) any {
	c.once.Do(func() { c.frame = build() })
	return c.frame
}

// String returns a short form of p for logs: its type and data length.
func (p Packet) String() string {
	if p.Binary {
		return fmt.Sprintf("%s(binary, %d bytes)", p.Type, len(p.Data))
	}
	return fmt.Sprintf("%s(%d bytes)", p.Type, len(p.Data))
}

// TextPacket returns a text Message packet carrying s.
func TextPacket(s string) Packet { return Packet{Type: Message, Data: []byte(s)} }

// BinaryPacket returns a binary Message packet carrying b.
func BinaryPacket(b []byte) Packet { return Packet{Type: Message, Data: b, Binary: true} }

// EncodedLen returns the number of bytes AppendPacket writes for p.
func EncodedLen(p Packet) int {
	if p.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// AppendPacket appends the text form of p to dst: the type digit and the
// data, or for a binary message "b" and the data in standard base64.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// EncodePacket returns the text form of p (see AppendPacket).
func EncodePacket(p Packet) []byte {
	return AppendPacket(make([]byte, 0, EncodedLen(p)), p)
}

// DecodePacket parses the text form of one packet. The returned packet's
// Data aliases text unless the packet is a base64 binary message.
//
// It fails with a *DecodeError wrapping ErrInvalidPacket when the type is not
// '0'–'6' or 'b', when base64 is malformed, when a binary packet is not a
// message, or when a text packet is not valid UTF-8.
func DecodePacket(text []byte) (Packet, error) {
	if len(text) == 0 {
		return Packet{}, &DecodeError{Reason: "empty packet"}
	}
	c := text[0]
	switch {
	case c == 'b':
		data, err := base64.StdEncoding.AppendDecode(nil, text[1:])
		if err != nil {
			return Packet{}, &DecodeError{Reason: "bad base64 in binary packet"}
		}
		if data == nil {
			data = []byte{}
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	case c >= '0' && c <= '6':
		if !utf8.Valid(text[1:]) {
			return Packet{}, &DecodeError{Reason: "text packet is not valid UTF-8"}
		}
		// Cap Data at the packet's end, so that appending to it cannot
		// overwrite what follows it in a payload.
		return Packet{Type: PacketType(c - '0'), Data: text[1:len(text):len(text)]}, nil
	default:
		return Packet{}, &DecodeError{Reason: fmt.Sprintf("unknown packet type %q", c)}
	}
}

// DecodeFrame parses a packet received as one WebSocket frame: a binary
// frame is a binary message holding the raw bytes; a text frame is parsed by
// DecodePacket. Data aliases frame.
func DecodeFrame(frame []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: frame, Binary: true}, nil
	}
	return DecodePacket(frame)
}
