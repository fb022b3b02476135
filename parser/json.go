package parser

import "sync"

// JSON returns the JSON codec, compatible with the npm package
// socket.io-parser 4.2.7, the default parser of socket.io and
// socket.io-client.
//
// Each packet travels as one text Engine.IO message,
//
//	<type>[<attachments>-][<nsp>,][<id>][<JSON data>]
//
// followed, for a packet whose arguments hold []byte values, by one binary
// message per value. Such a packet goes out as BINARY_EVENT or BINARY_ACK,
// each []byte replaced by {"_placeholder":true,"num":N}, numbered depth
// first in the order the JSON is written. Encode refuses more than 10
// attachments (socket.io-parser's default maxAttachments) and binary data in
// CONNECT and CONNECT_ERROR payloads.
//
// Values are written as JSON.stringify writes the equivalent JavaScript
// value: NaN and infinities as null, numbers in JavaScript's format, strings
// with only '"', '\\' and control characters escaped, map[string]any with
// its keys sorted, and a time.Time as the Date of its millisecond:
// "2026-12-07T06:00:00.123Z", always in UTC with three fraction digits, a
// year outside 0000-9999 with a sign and six digits
// ("+275760-09-13T00:00:00.000Z"), and null beyond ±8.64e15 ms, where
// JavaScript has no valid Date. Other types (structs, typed maps and slices,
// pointers, types with MarshalJSON) go through encoding/json, without HTML
// escaping; binary and times inside them are found as described for
// attachments in the package documentation. A Raw from this codec is written as the text it was decoded
// from, its placeholders renumbered.
//
// Decoding follows socket.io-parser: the type must be 0 to 6, a namespace is
// read when the next character is '/' and runs to the first ',' or the end
// of the message, the ack id is a run of decimal digits (0 included), and
// the data must be JSON whose shape fits the type; an Event's name must be a
// number or a string that is not reserved (see [IsReserved]). A binary
// packet announces 1 to 10 attachments and is returned once they have all
// arrived; a text message while attachments are awaited, a binary message
// when none is, and a placeholder whose num is not an integer index into the
// attachments are errors. Where socket.io-parser leans on JavaScript's loose
// number parsing (an empty message read as CONNECT, spaces read as an ack
// id, "1e1" attachments) this decoder accepts only decimal digits.
//
// Raw.Decode into *any, *[]any or *map[string]any gives nil, bool, int64
// for integer literals (uint64 beyond math.MaxInt64), float64 for the other
// numbers, string, []byte for attachments, []any and map[string]any. Other
// targets go through encoding/json, attachments given as base64 strings so
// that []byte fields receive their bytes; interface values inside them
// (fields of type any, elements of []any, values of map[string]any) then
// get the attachments' bytes, as with the msgpack codec.
func JSON() Codec { return &jsonCodec{} }

// jsonCodec implements Codec for socket.io-parser.
type jsonCodec struct {
	markableTypes sync.Map // reflect.Type -> bool: whether values of the type may hold binary or times
}

// Name implements Codec.
func (*jsonCodec) Name() string { return nameJSON }

// NewDecoder implements Codec.
func (c *jsonCodec) NewDecoder() Decoder { return c.NewLimitedDecoder(Limits{}) }

// NewLimitedDecoder implements Codec.
func (*jsonCodec) NewLimitedDecoder(l Limits) Decoder { return &jsonDecoder{lim: l.withDefaults()} }
