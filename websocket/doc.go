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
// Concurrency: one goroutine reads, for the life of the connection, and hands
// packets to the session in order. Writes are made by one goroutine at a
// time, one system call per batch of frames:
//
//   - A reply queued while the reader delivers a packet (the first wake-up
//     in that time) is written by the reader itself, just before it would
//     wait for more input, as a plain echo server does: a request and its
//     reply cost no goroutine hand-off.
//   - Otherwise a wake-up starts a writer goroutine that ends when the queue
//     is empty, so an idle connection holds no writer goroutine and, with a
//     pooled write buffer, no write buffer. A writer that holds a broadcast
//     packet first lets the other runnable goroutines run, and takes again
//     while they keep queueing or the server is still handing out a
//     broadcast (up to 16 rounds), so that an application's consecutive
//     broadcasts share a write instead of paying one each.
//   - On Unix systems the reader waits for input holding no buffer, then
//     reads into a pooled one that it gives back once the bytes are handled.
package websocket
