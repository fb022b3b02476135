// Package parser holds Ferry's Socket.IO v5 packet codecs: msgpack (the
// default, byte-compatible with socket.io-msgpack-parser) and JSON
// (compatible with socket.io-parser, binary attachments included).
//
// Layer: it sits on Engine.IO messages and under the Socket.IO server and
// client. In: Engine.IO message payloads, text or binary, which a [Decoder]
// turns into [Message] values whose arguments stay encoded ([Raw]) until the
// caller decodes them into its own types. Out: [Packet] values, which a
// [Codec] turns into the [Frame]s to send, in order.
//
// It imports no other Ferry package, does no I/O and starts no goroutines.
//
// # Codecs
//
// [Msgpack] writes each packet as one binary message holding a msgpack map;
// [JSON] writes a text message and one binary message per attachment. Both
// write values as the npm encoders write the equivalent JavaScript value.
// Tests run the npm packages (parser-vectors.mjs in internal/nodetest/node)
// to check that Go output equals npm output byte for byte for packets built
// as Node's socket.io server builds them, that each side decodes the other's
// output to the same value, and that both decoders accept and reject the
// same inputs, except as listed below.
//
// Decoding applies the validation of the npm decoders: packet types, a
// string namespace, the shape of the data for each type, ack ids, and, for
// JSON, reserved event names and attachment placeholders. This package is
// stricter where the npm code only accepts something through JavaScript's
// loose typing, which no real encoder produces:
//
//   - an empty JSON message (Node reads a CONNECT);
//   - a JSON EVENT, ACK or CONNECT_ERROR with no data (Node skips the check);
//   - whitespace or an exponent in the JSON header, or a JSON ack id beyond
//     uint64 (Node reads a space as 0, 1e1 as 10, and any digits as a
//     number);
//   - a placeholder whose num is fractional;
//   - a negative msgpack ack id (Go ack ids are unsigned);
//   - a msgpack EVENT with no name, or with a name that is neither a string
//     nor a number (the msgpack parser does not look);
//   - a msgpack extension of non-zero type where the data array belongs
//     (notepack.io reads it as [type, bytes]);
//   - msgpack map keys that are arrays, maps or extensions.
//
// It also refuses packets beyond its [Limits] (too many arguments, elements
// or levels of nesting), which the npm decoders do not bound.
//
// Two differences are in values: a msgpack string holding invalid UTF-8
// keeps its bytes in Go, where JavaScript replaces them, and a msgpack Date
// beyond JavaScript's range of ±8.64e15 ms decodes to a time.Time, where
// JavaScript has an invalid Date.
//
// # Binary data and times
//
// A []byte anywhere in Args travels as msgpack bin, or as a JSON attachment,
// and a time.Time as a JavaScript Date (see [Msgpack] and [JSON]). The JSON
// codec finds them in []any elements and map[string]any values at any
// depth, and also inside values it hands to encoding/json: exported struct
// fields (embedded structs included), slice and array elements, map values,
// pointers and interfaces. It does not look inside types with their own
// MarshalJSON or MarshalText (a struct embedding time.Time is one), nor into
// unexported embedded structs, whose []byte fields encoding/json writes as
// base64 strings and whose times it writes in RFC 3339. Attachments are
// numbered depth first, in the order the JSON is written, as socket.io-parser
// numbers them.
//
// Received binary decodes into []byte: msgpack bin, msgpack ext of type 0
// (how Node writes typed arrays), and JSON attachments, wherever the target
// has a []byte or an interface value (a field of type any, an element of a
// []any, a value of a map[string]any). Decoding a JSON argument into a
// typed target hands each attachment to encoding/json as a base64 string,
// so []byte fields receive the bytes and string fields the base64 text;
// types with their own UnmarshalJSON or UnmarshalText get the base64 text.
//
// # Values outside packets
//
// [MarshalMsgpack] and [MarshalJSON] write one value as notepack.io and
// JSON.stringify write the equivalent JavaScript value, and [MsgpackRaw]
// and [JSONRaw] make a Raw of one value that a Node peer wrote, for code
// that exchanges arguments with Node servers by other means than a
// Socket.IO connection, such as a cluster adapter on Redis.
//
// # Limits
//
// A Decoder bounds what one packet may decode into: the number of
// arguments, of array elements and map entries, and the depth of nesting
// (see [Limits] for the defaults and the reasons for them). It counts while
// it validates a message and refuses a packet beyond a limit before it
// copies or builds anything for it, so that a small message of many tiny
// values cannot make a Message many times its size.
//
// # Errors
//
// Every error from Encode and Decode is a [*PacketError] that wraps
// [ErrInvalidPacket]; a packet beyond the Limits is one. A Decoder that
// failed once keeps failing: the connection must close.
//
// # Concurrency
//
// A Codec is safe for concurrent use. A Decoder belongs to one connection
// and must not be used by several goroutines at once. Message and Raw values
// are safe to read from several goroutines.
package parser
