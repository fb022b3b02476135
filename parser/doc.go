// Package parser holds Ferry's Socket.IO v5 packet codecs: msgpack (the
// default, byte-compatible with socket.io-msgpack-parser) and JSON
// (compatible with socket.io-parser, binary attachments included).
//
// In: Engine.IO message payloads, text or binary. Out: [Message] values with
// lazily decoded arguments, and back from [Packet] values to [Frame]s.
//
// It imports no other Ferry package, does no I/O and starts no goroutines.
package parser
