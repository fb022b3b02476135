package parser

// Msgpack returns the msgpack codec, byte-compatible with the npm package
// socket.io-msgpack-parser 3.0.2 (notepack.io 2.2). It is Ferry's default.
//
// Each packet travels as one binary Engine.IO message holding a msgpack map.
// Its keys come in the order Node's socket.io server writes them, and a
// field that is absent is left out, never written as nil:
//
//	CONNECT        type, data (only when Payload is set), nsp
//	DISCONNECT     type, nsp
//	EVENT          type, data, id (only when HasID), nsp
//	ACK            id, type, data, nsp
//	CONNECT_ERROR  type, data, nsp
//
// There are no attachments: binary values sit inside the map.
//
// Values are written as notepack.io writes the equivalent JavaScript value:
// integers, and floats without a fractional part, in the smallest integer
// form; other numbers as float64; strings, bin, arrays and maps with the
// smallest header; []byte as bin; time.Time as a JavaScript Date (fixext 8
// of type 0, millisecond precision); map[string]any and other maps with
// string or integer keys with their keys sorted. Structs, and types with
// their own msgpack, binary or text marshalling, go through
// github.com/vmihailenco/msgpack/v5 with json tags used where a field has
// no msgpack tag, and the result is rewritten into notepack.io's forms; maps
// inside structs other than map[string]string, map[string]bool and
// map[string]any come out in Go's random map order. A Raw from this codec is
// written as the bytes it was decoded from.
//
// Decoding accepts what notepack.io accepts: keys in any order, unknown keys
// (the client's "options") ignored, undefined (d4 00 00) as absent, integers
// of any width (and integral floats) for type and id, binary as bin or as
// ext of type 0. Unlike Node it rejects a negative ack id, as Go ack ids are
// unsigned, and an EVENT whose name is missing or is neither a string nor a
// number. Reserved event names are not rejected: see [IsReserved].
//
// Raw.Decode accepts json struct tags where a field has no msgpack tag.
// Decoding into *any gives nil, bool, int64 (uint64 above math.MaxInt64),
// float64, string, []byte (bin or type-0 ext), time.Time (a Date), []any and
// map[string]any (with scalar keys turned into strings, as JavaScript does).
// Undefined decodes as nil, and an extension of another type as the array
// [type, bytes], as in notepack.io.
func Msgpack() Codec { return msgpackCodec{} }

// msgpackCodec implements Codec for socket.io-msgpack-parser. It has no
// state.
type msgpackCodec struct{}

// Name implements Codec.
func (msgpackCodec) Name() string { return nameMsgpack }

// NewDecoder implements Codec.
func (c msgpackCodec) NewDecoder() Decoder { return c.NewLimitedDecoder(Limits{}) }

// NewLimitedDecoder implements Codec.
func (msgpackCodec) NewLimitedDecoder(l Limits) Decoder {
	return &msgpackDecoder{lim: l.withDefaults()}
}
