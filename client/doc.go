// Package client is Ferry's Go client for Socket.IO servers: a Go
// counterpart of socket.io-client 4.x, speaking Engine.IO v4 and Socket.IO
// v5 to any compliant server (Ferry, or Node's socket.io).
//
// Layer: the top of the client side. It imports transport (the Engine.IO
// packet and payload codec) and parser (the Socket.IO codecs), never the
// server packages. In: HTTP long-polling bodies and WebSocket frames from
// the server. Out: events handed to the application's handlers, and the
// application's events, encoded and written back.
//
// # Flow
//
//	Dial ──► Engine.IO handshake (GET, or WebSocket-only) ──► Client (one session)
//	              │ polling: GET loop + POST writer         │ heartbeat: ping → pong,
//	              │ upgrade: 2probe/3probe, pause, 5         │ silence ⇒ "ping timeout"
//	              ▼                                          ▼
//	   transport.Packet ──► parser.Decoder ──► Socket (per namespace) ──► handlers
//	   transport.Packet ◄── parser.Codec   ◄── Socket.Emit / EmitWithAck / Event.Ack
//
// A Client (socket.io-client's Manager) holds one Engine.IO session at a
// time. It opens it over long-polling and upgrades to a WebSocket when the
// server offers one (see Options.Transports), answers the server's pings,
// and treats pingInterval+pingTimeout of silence as a lost connection.
// Client.Socket returns the Socket of a namespace; Socket.Connect sends the
// namespace CONNECT with the Socket's auth payload and waits for the
// server's answer, which is success or a *ConnectError with the server's
// message and data.
//
// When the session is lost (reasons "transport close", "transport error",
// "ping timeout", "parse error"), every connected Socket gets its
// OnDisconnect handler and the Client reconnects with exponential backoff
// and jitter (Options.ReconnectionDelay, ReconnectionDelayMax,
// RandomizationFactor, ReconnectionAttempts), then rejoins each active
// namespace with the same auth. Events emitted meanwhile are kept in the
// Socket's send buffer and sent once it is connected again.
// Acknowledgements of events that were already sent fail with a
// *DisconnectError.
//
// Against a server with connection state recovery on (socket.io 4.6+'s
// connectionStateRecovery, Ferry's Options.ConnectionStateRecovery), a
// Socket sends the private id the server gave it and the offset of the
// last event it received with every reconnection, as socket.io-client
// does: a server that still holds its state restores it, with the same
// socket id, and sends the events missed meanwhile before its CONNECT
// reply. The Socket hands those to its handlers, in order, before
// OnConnect runs, and Socket.Recovered reports true.
//
// A namespace disconnected by the server ("io server disconnect") or by
// Socket.Disconnect ("io client disconnect") is not rejoined, and when no
// Socket is active any more the Client closes its session, as
// socket.io-client does.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Each Client runs:
//
//   - one writer goroutine per session, the only one writing to its
//     transport (the upgrade goroutine writes "2probe" and "5" on the new
//     WebSocket before handing it over); Emit, EmitWithAck, Event.Ack and
//     pongs only append to its queue and never wait for the network;
//   - one reader at a time: the long-polling GET loop, then, after an
//     upgrade, the WebSocket reader; acknowledgements from the server are
//     delivered to EmitWithAck from here;
//   - a heartbeat goroutine, a reconnection goroutine while reconnecting,
//     and an upgrade goroutine while upgrading;
//   - one dispatch goroutine that runs every handler (On, OnAny,
//     OnConnect, OnDisconnect, OnConnectError and the Client's OnReconnect
//     family) one at a time, in the order the events happened.
//
// Handlers may block and may call any method, including Emit,
// EmitWithAck, Socket.Connect, Socket.Disconnect and Client.Close: a
// blocked handler delays later handlers, never the heartbeat or incoming
// acknowledgements. Events that arrive meanwhile wait in an unbounded
// queue. Client.Close ends every goroutine before returning, except that it
// does not wait for a handler that is running at that moment (it may be the
// caller); that goroutine ends when the handler returns.
//
// # Queues
//
// Outbound queues are bounded, as on the server: the session's queue of
// packets waiting to be written, and each Socket's buffer of events emitted
// while it is not connected, hold at most Options.MaxQueuedPackets packets
// (default 65536). An emit that would exceed a bound is refused with
// ErrQueueFull. If the session's queue overflowed, the session closes at
// once with ReasonQueueFull: connected Sockets get OnDisconnect with that
// reason, acknowledgements already sent fail with a *DisconnectError whose
// Err is ErrQueueFull, and the client reconnects. If a Socket's buffer
// overflowed, that Socket is disconnected the same way but stops: its
// buffered events are dropped and it is not reconnected until Connect is
// called again. Inbound events waiting for the dispatch goroutine are not
// bounded.
//
// # Delivery
//
// Packets keep their order in both directions, across the upgrade to
// WebSocket too: polling is paused only after the in-flight GET and POST
// have completed, and the queue moves to the WebSocket intact. As in
// socket.io-client, packets already handed to a session that is then lost
// are lost with it; events emitted while not connected are buffered.
package client
