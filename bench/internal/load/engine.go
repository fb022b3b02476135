package load

import (
	"errors"
	"fmt"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// errClosedByServer reports an Engine.IO close packet from the server.
var errClosedByServer = errors.New("load: server closed the session")

// messageDecoder decodes the Socket.IO packets of one connection.
type messageDecoder struct{ dec parser.Decoder }

func newMessageDecoder(codec parser.Codec) messageDecoder {
	return messageDecoder{codec.NewDecoder()}
}

// decode decodes one Engine.IO message's data; the scenarios' packets
// carry no attachments.
func (d messageDecoder) decode(data []byte, binary bool) (*parser.Message, error) {
	if d.dec == nil {
		return nil, errors.New("load: no Socket.IO decoder on a raw connection")
	}
	m, err := d.dec.Decode(data, binary)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("load: decoder awaits attachments")
	}
	return m, nil
}

// readEngine reads the next Engine.IO message: it answers pings, skips
// noops, and returns binary messages and other text messages.
func (ws *wsConn) readEngine() (binary bool, data []byte, err error) {
	for {
		op, data, err := ws.readFrame()
		if err != nil {
			return false, nil, err
		}
		if op == opBinary {
			return true, data, nil
		}
		switch string(data) {
		case "2":
			if err := ws.writeText("3"); err != nil {
				return false, nil, err
			}
		case "6":
		case "1":
			return false, nil, errClosedByServer
		default:
			return false, data, nil
		}
	}
}

// readMessage reads and decodes the next Socket.IO packet.
func (ws *wsConn) readMessage() (*parser.Message, error) {
	binary, data, err := ws.readEngine()
	if err != nil {
		return nil, err
	}
	if binary {
		return ws.dec.decode(data, true)
	}
	if len(data) == 0 || data[0] != '0'+byte(transport.Message) {
		return nil, fmt.Errorf("load: unexpected text message %q", truncate(data))
	}
	return ws.dec.decode(data[1:], false)
}

// readAck reads the next packet and checks that it is the ack of an event
// sent with ackID.
func (ws *wsConn) readAck() (*parser.Message, error) {
	m, err := ws.readMessage()
	if err != nil {
		return nil, err
	}
	if m.Type != parser.Ack || m.ID != ackID {
		return nil, fmt.Errorf("load: got %v id %d, want ACK id %d", m.Type, m.ID, ackID)
	}
	return m, nil
}
