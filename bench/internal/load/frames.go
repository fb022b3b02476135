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

// encode returns p as the single binary Engine.IO message that the msgpack
// codec produces for it.
func encode(p *parser.Packet) ([]byte, error) {
	frames, err := parser.Msgpack().Encode(p)
	if err != nil {
		return nil, err
	}
	if len(frames) != 1 || !frames[0].Binary {
		return nil, fmt.Errorf("load: msgpack codec gave %d frames for %v", len(frames), p.Type)
	}
	return frames[0].Data, nil
}

// event returns an EVENT for "/" carrying args, with the ack id.
func event(args ...any) ([]byte, error) {
	return encode(&parser.Packet{Type: parser.Event, Namespace: "/", ID: ackID, HasID: true, Args: args})
}

// pollBody returns the long-polling POST body carrying one binary message.
func pollBody(msg []byte) []byte {
	return transport.EncodePayload([]transport.Packet{transport.BinaryPacket(msg)})
}

// echoPayload is the echo scenarios' argument: a string of size bytes.
func echoPayload(size int) string { return strings.Repeat("x", size) }

// connectFrame is the Socket.IO CONNECT to the main namespace, no auth.
func connectFrame() ([]byte, error) {
	return encode(&parser.Packet{Type: parser.Connect, Namespace: "/"})
}

// Raw frame protocol (see bench/cmd/rawserver).

// rawEcho prefixes msg with the raw echo command.
func rawEcho(msg []byte) []byte { return append([]byte{'E'}, msg...) }

// rawJoin is the raw join command, and its answer.
const rawJoin = "J"

// rawFanout returns the raw command broadcasting m frames of size bytes.
func rawFanout(m, size int) []byte {
	b := make([]byte, 9)
	b[0] = 'F'
	binary.BigEndian.PutUint32(b[1:5], uint32(m))
	binary.BigEndian.PutUint32(b[5:9], uint32(size))
	return b
}

// rawPaced returns the raw command broadcasting m frames of size bytes,
// one every intervalUs microseconds.
func rawPaced(m, size, intervalUs int) []byte {
	b := make([]byte, 13)
	b[0] = 'P'
	binary.BigEndian.PutUint32(b[1:5], uint32(m))
	binary.BigEndian.PutUint32(b[5:9], uint32(size))
	binary.BigEndian.PutUint32(b[9:13], uint32(intervalUs))
	return b
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
