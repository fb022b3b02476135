// Package ferry is a Socket.IO v4 server for Go: real-time events between
// a Go server and browser or service clients, over HTTP long-polling that
// upgrades to WebSocket on the same port, wire-compatible with the official
// socket.io-client 4.x.
//
// # Data flow
//
// Inbound data flows up the layers; each package imports only those below:
//
//	HTTP request
//	    │
//	ferry.Server.ServeHTTP ── serves <Path>ferry.min.js (the bundled client)
//	    │
//	session.Engine ────────── handshake, sid, heartbeat, upgrade, registry
//	    │
//	polling / websocket ───── transport.Transport: GET/POST, or frames
//	    │
//	transport ─────────────── Engine.IO packets and payloads
//	    │
//	parser ────────────────── Socket.IO packets: msgpack (default) or JSON
//	    │
//	ferry: Namespace ─ Socket ─ your handlers (On, Handle, acks)
//
// Outbound, Socket.Emit and Broadcast.Emit encode a packet once with the
// server's parser and queue it on each target session, whose transport
// writes it.
//
// # Concurrency
//
// Every exported method is safe for concurrent use: any goroutine may emit
// to any socket, room or namespace at any time. Each connection has one
// read goroutine at a time (a long-poll POST, or the WebSocket reader);
// middleware, connection handlers and event handlers for that connection
// run on it, one at a time and in the order the client sent the packets. A
// handler that blocks delays only its own connection. A handler must not
// wait for an ack from its own client on that goroutine: call EmitWithAck
// from a new goroutine instead.
//
// Writes never block the caller: packets go to a bounded per-connection
// queue (Options.MaxQueuedPackets) drained by the connection's single
// writer. A client that lets its queue overflow is disconnected.
//
// # Lifecycle
//
// Server is only an http.Handler: mount it on any router. Close stops at
// once; Shutdown(ctx) lets each connection flush what is queued first.
// After either, new connections are refused and both return
// ErrServerClosed. No goroutine outlives its connection.
package ferry
