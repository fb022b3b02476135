package load

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// ackID is the ack id of every event the clients send: each connection
// has at most one event awaiting its ack, so one id is enough, and the
// frames can be encoded once for all connections.
const ackID = 1

// encode returns p as the single Engine.IO message that codec produces
// for it: binary for msgpack, text for JSON (the scenarios send no
// attachments).
func encode(codec parser.Codec, p *parser.Packet) (parser.Frame, error) {
	frames, err := codec.Encode(p)
	if err != nil {
		return parser.Frame{}, err
	}
	if len(frames) != 1 {
		return parser.Frame{}, fmt.Errorf("load: %s codec gave %d frames for %v", codec.Name(), len(frames), p.Type)
	}
	return frames[0], nil
}

// event returns an EVENT for "/" carrying args, with the ack id.
func event(codec parser.Codec, args ...any) (parser.Frame, error) {
	return encode(codec, &parser.Packet{Type: parser.Event, Namespace: "/", ID: ackID, HasID: true, Args: args})
}

// enginePacket returns the Engine.IO message packet carrying f.
func enginePacket(f parser.Frame) transport.Packet {
	return transport.Packet{Type: transport.Message, Data: f.Data, Binary: f.Binary}
}

// pollBody returns the long-polling POST body carrying one message.
func pollBody(f parser.Frame) []byte {
	return transport.EncodePayload([]transport.Packet{enginePacket(f)})
}

// echoPayload is the echo scenarios' argument: a string of size bytes.
func echoPayload(size int) string { return strings.Repeat("x", size) }

// connectFrame is the Socket.IO CONNECT to the main namespace, no auth.
func connectFrame(codec parser.Codec) (parser.Frame, error) {
	return encode(codec, &parser.Packet{Type: parser.Connect, Namespace: "/"})
}

// Raw frame protocol (see bench/cmd/rawserver).

// rawEcho prefixes msg with the raw echo command.
func rawEcho(msg []byte) parser.Frame {
	return parser.Frame{Data: append([]byte{'E'}, msg...), Binary: true}
}

// rawJoin is the raw join command, and its answer.
const rawJoin = "J"

// rawFanout returns the raw command broadcasting m frames of size bytes.
func rawFanout(m, size int) parser.Frame {
	b := make([]byte, 9)
	b[0] = 'F'
	binary.BigEndian.PutUint32(b[1:5], uint32(m))
	binary.BigEndian.PutUint32(b[5:9], uint32(size))
	return parser.Frame{Data: b, Binary: true}
}

// rawPaced returns the raw command broadcasting m frames of size bytes,
// one every intervalUs microseconds.
func rawPaced(m, size, intervalUs int) parser.Frame {
	b := make([]byte, 13)
	b[0] = 'P'
	binary.BigEndian.PutUint32(b[1:5], uint32(m))
	binary.BigEndian.PutUint32(b[5:9], uint32(size))
	binary.BigEndian.PutUint32(b[9:13], uint32(intervalUs))
	return parser.Frame{Data: b, Binary: true}
}

// rawTickTime returns the send time in a raw broadcast frame.
func rawTickTime(frame []byte) (int64, error) {
	if len(frame) < 9 || frame[0] != 'T' {
		return 0, fmt.Errorf("load: unexpected raw frame %q", truncate(frame))
	}
	return int64(binary.BigEndian.Uint64(frame[1:9])), nil
}

// truncate shortens b for error messages.
func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
