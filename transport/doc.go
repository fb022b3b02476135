// Package transport is Ferry's bottom layer: Engine.IO v4 packets, the
// long-polling payload codec, and the Transport interface that the polling
// and websocket packages implement.
//
// In: bytes from an HTTP body or a WebSocket frame. Out: [Packet] values for
// the session layer, and back.
//
// The codec is pure: it does no I/O and starts no goroutines, so it can be
// fuzzed and tested without a network. Wire forms follow Engine.IO v4:
//
//	text packet     <type digit><utf-8 data>      "4hello", "2", "3probe"
//	binary message  b<standard base64>            "bAQIDBA==" (polling, or WebSocket with b64=1)
//	payload         packets joined by 0x1E        "4hello\x1ebAQIDBA=="
//
// On a WebSocket a binary message is a binary frame holding the raw bytes,
// with no type digit; see [Packet.Binary].
package transport
