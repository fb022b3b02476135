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
// to any socket, room or namespace at any time.
//
// Each connection has one read goroutine at a time (a long-poll POST, or
// the WebSocket reader). The application's code that a client's packets
// trigger runs on it, one call at a time and in the order the client sent
// the packets: a dynamic namespace's match function, middleware, connection
// handlers, OnAny and event handlers, and the disconnect handlers of a
// socket the client leaves. A handler that blocks delays only its own
// connection. A handler must not wait for an ack from its own client on
// that goroutine: ask with EmitWithAckFunc, whose callback runs when the
// ack is read, or call EmitWithAck from a new goroutine.
//
// Disconnect handlers, and Conn's OnClose callbacks, run on the goroutine
// that ends the socket: the read goroutine, a timer (ping timeout, connect
// timeout), the goroutine calling Socket.Disconnect, Conn.Close or a
// broadcast's DisconnectSockets, or the one calling Server.Close or
// Shutdown; when the connection fails while an emit is being queued (its
// queue overflows, a write fails), a goroutine of their own. They never
// run inside an Emit. Conn's OnUpgrade callbacks run on the new
// WebSocket's reader.
//
// A panic in any of these handlers is recovered: it is logged at error
// level with its stack, and the connection it ran for is closed, its
// sockets disconnecting with ReasonServerError. Other connections carry on,
// over long-polling and WebSocket alike. (An OnClose callback added to a
// connection already closed runs at once, on the caller's goroutine, and
// is not guarded.)
//
// Writes never block the caller: packets go to a bounded per-connection
// queue (Options.MaxQueuedPackets) drained by one writer at a time. A
// client that lets its queue overflow is disconnected. What a handler
// emits or acks is on the wire promptly, not when the handler returns: over
// WebSocket the first packet a handler queues is written at once, by the
// handler's own goroutine, in one system call that does not wait for the
// socket; the rest, and packets from other goroutines, are written by a
// writer goroutine that gathers what is queued into one system call
// (replies to events a client sent together, consecutive broadcasts).
// Over long-polling they go out with the pending GET.
//
// # Lifecycle
//
// Server is only an http.Handler: mount it on any router. Close stops at
// once; Shutdown(ctx) lets each connection flush what is queued first.
// After either, new connections are refused and both return
// ErrServerClosed. No goroutine outlives its connection.
//
// A client's connection (Conn) carries one Socket per namespace it joins.
// A socket's middleware runs before it is connected: the rooms it joins
// and the events it emits are joined and sent when it connects. Refused by
// a middleware (the client gets connect_error), or cut off by its
// connection closing first, the socket never connects: its Context is
// done, and no connection or disconnect handler runs for it. A connected
// socket disconnects once, for the DisconnectReason its OnDisconnect
// handlers receive; the connection may stay open for the client's other
// sockets.
//
// Namespaces are made by Server.Of, and dynamic children of a Server.OfFunc
// parent when a client first asks for a matching name; each gets its adapter
// as it is made. A child made for a connection that its middleware refuses,
// and which no socket joined, is removed at once; with
// Options.CleanupEmptyChildNamespaces, a child is also removed when its
// last socket leaves. A removed namespace's adapter is closed, as every
// adapter is when the server closes.
//
// # Metrics
//
// Options.Observer hears of the server's events as they happen (see
// Observer): connections and their transports, upgrades, refused requests,
// packets and bytes, sockets, broadcasts, ack timeouts. The module
// github.com/ferryio/ferry/metrics exports them as Prometheus metrics.
package ferry
