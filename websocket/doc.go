// Package websocket is the WebSocket Transport, built on
// github.com/gorilla/websocket and upgraded by the same HTTP handler, on the
// same port and path, as long-polling.
//
// In: an upgraded connection for one session. Out: [transport.Packet] values
// delivered to the session, and frames written to the peer.
//
// Framing (Engine.IO v4): exactly one packet per frame. Text packets travel
// as text frames ("4hello"), binary messages as binary frames holding the raw
// bytes. A client that asked for base64 (b64=1) receives binary messages as
// "b"+base64 text frames instead. Messages over the size limit close the
// connection with status 1009.
//
// Compression: with [Options].Deflate set, permessage-deflate (RFC 7692) is
// accepted from clients that offer it, without context takeover. A message
// is compressed when its frame payload reaches the threshold and its
// packet is not marked NoCompress; a broadcast's prepared frame holds a
// compressed and a plain form, each built once, so both may leave from one
// cache. The size limit applies to what a compressed message inflates to
// (1009 past it); one that does not inflate gets 1007.
//
// Concurrency: one goroutine at a time reads, and hands packets to the
// session in order. On Linux, a reader that finds no input between two
// messages (after waiting up to 100 ms in its goroutine while messages keep
// coming) parks the connection with an epoll instance shared by the
// Config's connections and ends: an idle connection holds no goroutine, no
// stack and no read buffer. One poll goroutine, running while connections
// are parked, starts a new reader when input arrives or the peer hangs up;
// Close takes a parked connection back from it at once. Elsewhere, and for
// connections without a raw socket (TLS), the reader waits in its
// goroutine. Writes are made by one writer at a time, one system call per
// batch of frames:
//
//   - When no writer is active, the caller of Wake (a handler replying, an
//     application emitting, a heartbeat timer) writes what is queued on the
//     spot, in one system call that does not wait for the socket, as a plain
//     echo server would: what a handler emits or acks is on the wire before
//     the handler returns, and costs no goroutine hand-off. What the socket
//     does not take at once stays buffered, ahead of later frames, for a
//     writer goroutine to finish.
//   - A writer goroutine, which ends when the queue is empty, takes the rest:
//     a broadcast (which, while the server is still handing out a broadcast,
//     lets the other runnable goroutines run and takes again, up to 16
//     rounds, so that an application's consecutive broadcasts share a write;
//     once the server is done it leaves at once, so that a paced broadcast
//     waits neither for the next nor for the other connections' writers to
//     take theirs), a large or last batch, and the replies to
//     packets a client sent together (it takes again while the reader is
//     still delivering them, so that their replies share a write). An idle
//     connection holds no writer goroutine and, with a pooled write buffer,
//     no write buffer.
//   - On Unix systems the reader waits for input holding no buffer, then
//     reads into a pooled one that it gives back once the bytes are handled.
//     A heartbeat ping is written by the session's timer on the spot, in
//     one system call that does not wait, and costs no goroutine.
//
// Ends: Close and a last batch send a close frame with no status, as the
// reference server does; a peer that breaks the protocol gets one with a
// status code and a short reason (1002 for a malformed packet, 1007 for a
// text frame that is not UTF-8, 1008 for a packet the session does not
// accept there, 1009 for a message over the size limit) before the
// connection closes. Fail ends a transport in that way for a reason found
// elsewhere: a server relaying a WebSocket for another server of a cluster
// is told the session refused a packet there.
package websocket
