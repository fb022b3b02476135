package parser

import (
	"bytes"
	"math"
)

// This file encodes and wraps single values, outside any packet, for code
// that exchanges Socket.IO arguments with Node peers by other means than a
// Socket.IO connection, such as a cluster adapter publishing broadcasts on
// Redis as Node's adapters do.

// MarshalMsgpack returns v in msgpack as notepack.io, the encoder of
// socket.io-msgpack-parser, writes the equivalent JavaScript value: v may
// be anything Packet.Args accepts (see [Msgpack] for the forms), a Raw of
// either codec included; a msgpack Raw is written as its bytes. A
// time.Time is written as a notepack.io 2 Date (fixext 8 of type 0), which
// notepack.io 3 also reads. An error is a *PacketError wrapping
// ErrInvalidPacket.
func MarshalMsgpack(v any) ([]byte, error) {
	b, err := appendMsgpack(nil, v, 1)
	if err != nil {
		return nil, encodeError(nameMsgpack, "cannot encode value", err)
	}
	return b, nil
}

// MarshalJSON returns v as JSON.stringify writes the equivalent JavaScript
// value: v may be anything Packet.Args accepts (see [JSON] for the forms), a
// Raw of either codec included. Binary data is written as Node's
// Buffer.toJSON writes a Buffer, {"type":"Buffer","data":[1,2,3]}, since a
// lone value has no attachments; a time.Time as a Date, such as
// "2026-12-07T06:00:00.123Z". An error is a *PacketError wrapping
// ErrInvalidPacket.
func MarshalJSON(v any) ([]byte, error) {
	e := jsonEncoder{binary: binaryBuffer}
	b, err := e.appendValue(nil, v, 1)
	if err != nil {
		return nil, encodeError(nameJSON, "cannot encode value", err)
	}
	return b, nil
}

// MsgpackRaw returns the Raw of b, which must hold exactly one msgpack
// value within l (zero fields take their defaults; MaxArgs does not apply).
// It reads what notepack.io 2 and 3 and @msgpack/msgpack write, and keeps
// the value as notepack.io 2 would write it again, which is what
// socket.io-msgpack-parser peers read: msgpack timestamps become Dates,
// numbers and headers take their smallest forms, map keys become strings.
// The Raw decodes as the msgpack codec's arguments do, and may be relayed
// in Packet.Args to either codec. It keeps a copy of what it needs. An
// error is a *PacketError wrapping ErrInvalidPacket.
func MsgpackRaw(b []byte, l Limits) (Raw, error) {
	l = l.withDefaults()
	if tooLong(b) {
		return nil, decodeError(nameMsgpack, "value of 4 GiB or more", nil)
	}
	scan := mpScan{lim: &l}
	end, reason := scan.skipItem(b, 0, 1)
	if reason == "" && end != len(b) {
		reason = "trailing bytes after the value"
	}
	if reason != "" {
		return nil, decodeError(nameMsgpack, reason, nil)
	}
	out, _, reason := appendJSForm(make([]byte, 0, len(b)), b, 0)
	if reason != "" {
		return nil, decodeError(nameMsgpack, reason, nil)
	}
	buf := &packetBytes{b: out}
	return buf.raw(0, len(out)), nil
}

// JSONRaw returns the Raw of b, which must hold exactly one JSON value
// within l (zero fields take their defaults; MaxArgs does not apply),
// surrounding whitespace allowed. The value is kept as written; an object
// shaped like Node's Buffer.toJSON stays an object, as JSON.parse leaves
// it. The Raw decodes as the JSON codec's arguments do, and may be relayed
// in Packet.Args to either codec. It keeps a copy of what it needs. An
// error is a *PacketError wrapping ErrInvalidPacket.
func JSONRaw(b []byte, l Limits) (Raw, error) {
	l = l.withDefaults()
	if tooLong(b) {
		return nil, decodeError(nameJSON, "value of 4 GiB or more", nil)
	}
	v := trimSpaceJSON(b)
	if len(v) == 0 {
		return nil, decodeError(nameJSON, "not JSON", nil)
	}
	check := jsonCheck{lim: &l, maxTop: math.MaxInt}
	if reason := check.run(v); reason == notJSON {
		return nil, decodeError(nameJSON, "not JSON", nil)
	} else if reason != "" {
		return nil, decodeError(nameJSON, reason, nil)
	}
	return newJSONRaw(bytes.Clone(v), nil), nil
}
