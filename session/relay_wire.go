package session

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// msgKind is the kind of a relay message. "Up" messages go from the relay
// (the engine a client's request reached) to the owner (the engine
// holding the session), "Down" ones back.
type msgKind uint8

const (
	kindAlive msgKind = iota + 1 // either way: the sender is alive
	kindReset                    // either way: messages were lost; what was in flight between the two is gone

	kindPoll        // up: a GET reached the relay (ID, SID)
	kindPollCancel  // up: that GET's client went away (ID)
	kindPollWritten // up: the GET's answer was written, or not (ID, Err)
	kindPollAnswer  // down: the GET's answer (ID, Pkts, or Status and Code)
	kindPost        // up: a POST reached the relay (ID, SID, Body, Err from reading it)
	kindPostAnswer  // down: the POST's answer (ID, Status 200, or Status and Code)
	kindOpen        // up: a WebSocket for the session reached the relay (ID, SID)
	kindOpenAnswer  // down: statusProbe (probing), statusNoUpgrade (accept and close), or Status and Code
	kindUp          // up: packets the client sent on the WebSocket (ID, Pkts, Ack)
	kindUpAck       // up: packets taken for the WebSocket so far (ID, Ack)
	kindUpEnd       // up: the WebSocket ended (ID, Err)
	kindDown        // down: packets for the WebSocket (ID, Pkts, Last, Ack)
	kindDownAck     // down: packets delivered to the session so far (ID, Ack)
	kindDownEnd     // down: the session's transport ended (ID, Err)
	kindBye         // either way: the sender's engine closed; it answers no more
	kindPollRelease // up: answer the GET now, with a noop if nothing is queued (ID)
	maxKind
)

// Answers to kindOpen besides an error status.
const (
	statusProbe     = 101 // the session probes the WebSocket
	statusNoUpgrade = 204 // the session may not upgrade: accept the WebSocket and close it
)

// errKind classifies the error a relay message carries, so that the
// receiving engine rebuilds one that errors.Is matches as the sender's did.
type errKind uint8

const (
	errNone            errKind = iota
	errPeerClosed              // transport.ErrPeerClosed
	errDecode                  // a *transport.DecodeError
	errInvalidPacket           // wraps transport.ErrInvalidPacket
	errUnexpected              // wraps transport.ErrUnexpectedPacket
	errMessageTooLarge         // websocket.ErrMessageTooLarge
	errPayloadTooLarge         // polling.ErrPayloadTooLarge
	errBinaryBody              // polling.ErrBinaryBody
	errOther                   // anything else, as text
	maxErrKind
)

// relayMsg is one message between two engines. Seq numbers the messages
// from From to the receiver, from 1, so that a lost one is noticed.
type relayMsg struct {
	Kind    msgKind
	From    string
	Seq     uint64
	ID      uint64 // the relay's id of the request or WebSocket
	SID     string
	Pkts    []transport.Packet
	Last    bool
	Ack     uint64
	Status  int
	Code    transport.ErrorCode
	Err     errKind
	ErrText string
	ErrAt   int // the offset of an errDecode
	Body    []byte
}

// msgFields is the number of fields of an encoded relayMsg.
const msgFields = 14

// errMalformedMsg is wrapped by the errors of decodeMsg.
var errMalformedMsg = errors.New("session: malformed relay message")

// encodeMsg encodes m as a msgpack array of its fields, packets as arrays
// of type, data, binary flag and NoCompress flag.
func encodeMsg(m *relayMsg) []byte {
	var buf bytes.Buffer
	buf.Grow(32 + len(m.Body) + wireSize(m.Pkts))
	enc := msgpack.NewEncoder(&buf)
	// Writes to a bytes.Buffer cannot fail.
	enc.EncodeArrayLen(msgFields)
	enc.EncodeUint(uint64(m.Kind))
	enc.EncodeString(m.From)
	enc.EncodeUint(m.Seq)
	enc.EncodeUint(m.ID)
	enc.EncodeString(m.SID)
	enc.EncodeArrayLen(len(m.Pkts))
	for _, p := range m.Pkts {
		enc.EncodeArrayLen(4)
		enc.EncodeUint(uint64(p.Type))
		enc.EncodeBytes(p.Data)
		enc.EncodeBool(p.Binary)
		enc.EncodeBool(p.NoCompress)
	}
	enc.EncodeBool(m.Last)
	enc.EncodeUint(m.Ack)
	enc.EncodeInt(int64(m.Status))
	enc.EncodeInt(int64(m.Code))
	enc.EncodeUint(uint64(m.Err))
	enc.EncodeString(m.ErrText)
	enc.EncodeInt(int64(m.ErrAt))
	enc.EncodeBytes(m.Body)
	return buf.Bytes()
}

func wireSize(pkts []transport.Packet) int {
	n := 0
	for _, p := range pkts {
		n += len(p.Data) + 8
	}
	return n
}

// decodeMsg decodes a message encoded by encodeMsg. It fails, wrapping
// errMalformedMsg, on anything else.
func decodeMsg(b []byte) (m relayMsg, err error) {
	rd := bytes.NewReader(b)
	dec := msgpack.NewDecoder(rd)
	fail := func(what string, err error) (relayMsg, error) {
		if err != nil {
			return relayMsg{}, fmt.Errorf("%w: %s: %v", errMalformedMsg, what, err)
		}
		return relayMsg{}, fmt.Errorf("%w: %s", errMalformedMsg, what)
	}
	n, err := dec.DecodeArrayLen()
	if err != nil || n != msgFields {
		return fail("not an array of the message's fields", err)
	}
	kind, err := dec.DecodeUint8()
	if err != nil || kind == 0 || msgKind(kind) >= maxKind {
		return fail("kind", err)
	}
	m.Kind = msgKind(kind)
	if m.From, err = dec.DecodeString(); err != nil {
		return fail("from", err)
	}
	if m.Seq, err = dec.DecodeUint64(); err != nil {
		return fail("seq", err)
	}
	if m.ID, err = dec.DecodeUint64(); err != nil {
		return fail("id", err)
	}
	if m.SID, err = dec.DecodeString(); err != nil {
		return fail("sid", err)
	}
	np, err := dec.DecodeArrayLen()
	if err != nil || np < 0 || np > len(b) {
		return fail("packets", err)
	}
	if np > 0 {
		m.Pkts = make([]transport.Packet, np)
	}
	for i := range m.Pkts {
		if n, err := dec.DecodeArrayLen(); err != nil || n != 4 {
			return fail("packet", err)
		}
		typ, err := dec.DecodeUint8()
		if err != nil || transport.PacketType(typ) > transport.Noop {
			return fail("packet type", err)
		}
		data, err := dec.DecodeBytes()
		if err != nil {
			return fail("packet data", err)
		}
		binary, err := dec.DecodeBool()
		if err != nil || binary && transport.PacketType(typ) != transport.Message {
			return fail("packet binary flag", err)
		}
		noCompress, err := dec.DecodeBool()
		if err != nil {
			return fail("packet compress flag", err)
		}
		if data == nil {
			data = []byte{}
		}
		m.Pkts[i] = transport.Packet{Type: transport.PacketType(typ), Data: data, Binary: binary, NoCompress: noCompress}
	}
	if m.Last, err = dec.DecodeBool(); err != nil {
		return fail("last", err)
	}
	if m.Ack, err = dec.DecodeUint64(); err != nil {
		return fail("ack", err)
	}
	if m.Status, err = dec.DecodeInt(); err != nil {
		return fail("status", err)
	}
	code, err := dec.DecodeInt()
	if err != nil {
		return fail("code", err)
	}
	m.Code = transport.ErrorCode(code)
	ek, err := dec.DecodeUint8()
	if err != nil || errKind(ek) >= maxErrKind {
		return fail("error kind", err)
	}
	m.Err = errKind(ek)
	if m.ErrText, err = dec.DecodeString(); err != nil {
		return fail("error text", err)
	}
	if m.ErrAt, err = dec.DecodeInt(); err != nil {
		return fail("error offset", err)
	}
	if m.Body, err = dec.DecodeBytes(); err != nil {
		return fail("body", err)
	}
	if rd.Len() > 0 {
		return fail("trailing bytes", nil)
	}
	return m, nil
}

// setErr records err in m.
func (m *relayMsg) setErr(err error) {
	var de *transport.DecodeError
	if errors.As(err, &de) {
		m.Err, m.ErrText, m.ErrAt = errDecode, de.Reason, de.Offset
		return
	}
	m.Err, m.ErrText = classify(err)
}

// err rebuilds the error m carries, or nil.
func (m *relayMsg) err() error {
	if m.Err == errDecode {
		return &transport.DecodeError{Offset: m.ErrAt, Reason: m.ErrText}
	}
	return rebuild(m.Err, m.ErrText)
}

// classify returns the kind of err and, for errOther and the wrapping
// kinds, its text.
func classify(err error) (errKind, string) {
	switch {
	case err == nil:
		return errNone, ""
	case errors.Is(err, transport.ErrPeerClosed):
		return errPeerClosed, ""
	case errors.Is(err, transport.ErrInvalidPacket):
		return errInvalidPacket, err.Error()
	case errors.Is(err, transport.ErrUnexpectedPacket):
		return errUnexpected, err.Error()
	case errors.Is(err, websocket.ErrMessageTooLarge):
		return errMessageTooLarge, ""
	case errors.Is(err, polling.ErrPayloadTooLarge):
		return errPayloadTooLarge, ""
	case errors.Is(err, polling.ErrBinaryBody):
		return errBinaryBody, ""
	default:
		return errOther, err.Error()
	}
}

// relayedError is an error that reached this engine in a relay message:
// its text is the original's, and errors.Is matches the sentinel of its
// kind.
type relayedError struct {
	text     string
	sentinel error
}

func (e *relayedError) Error() string { return e.text }
func (e *relayedError) Unwrap() error { return e.sentinel }

// rebuild returns an error of kind k with text.
func rebuild(k errKind, text string) error {
	switch k {
	case errNone:
		return nil
	case errPeerClosed:
		return transport.ErrPeerClosed
	case errInvalidPacket:
		return &relayedError{text: text, sentinel: transport.ErrInvalidPacket}
	case errUnexpected:
		return &relayedError{text: text, sentinel: transport.ErrUnexpectedPacket}
	case errMessageTooLarge:
		return websocket.ErrMessageTooLarge
	case errPayloadTooLarge:
		return polling.ErrPayloadTooLarge
	case errBinaryBody:
		return polling.ErrBinaryBody
	default:
		return &relayedError{text: text, sentinel: errRelayed}
	}
}

// errRelayed is wrapped by the errors of other engines' transports that no
// sentinel describes.
var errRelayed = errors.New("session: error on the relaying server")
