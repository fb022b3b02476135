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
// time. What the session queues while the reader is delivering a packet
// (a handler's reply) is written by the reader itself once it has no more
// input to handle, so a request and its reply cost no goroutine hand-off and
// the replies to pipelined requests leave in one write. Otherwise the session
// wakes the transport, which starts a writer goroutine that ends when the
// queue is empty: an idle connection holds no writer goroutine and, with a
// pooled write buffer, no write buffer either. Each batch of frames leaves
// in one system call. A writer that holds a broadcast packet first lets the
// other runnable goroutines run, and takes again while they keep queueing
// (up to 16 rounds), so consecutive broadcasts on a busy server share a
// write instead of paying one each.
package websocket
