// Package session is Ferry's Engine.IO layer: the handshake, session ids,
// the server-driven heartbeat, the upgrade from long-polling to WebSocket,
// and the registry of live sessions.
//
// In: HTTP requests under the engine's path (default "/socket.io/"). Out:
// [Session] values handed to Options.OnConnection, whose message packets
// reach the callback set with Session.OnMessage.
//
//	request ─▶ Engine.ServeHTTP ─┬─ no sid: handshake ─▶ new Session (polling or websocket)
//	                             ├─ sid + polling: ─▶ polling.Transport (GET parks, POST delivers)
//	                             ├─ sid + websocket: ─▶ upgrade: probe, then switch transports
//	                             └─ sid of another engine (Options.Relay): ─▶ relayed to it
//
// # Sessions and transports
//
// A Session owns its outbound queue; the current transport's single writer
// drains it in order (see transport.Transport). An upgrade runs as in the
// reference server: the client's new WebSocket sends "2probe" and gets
// "3probe"; the parked long-poll is released with a noop; the client sends
// "5" and the session switches, flushing everything still queued over the
// WebSocket. No packet is lost, repeated or reordered across the switch. An
// upgrade that fails or exceeds UpgradeTimeout is abandoned and the session
// stays on long-polling.
//
// # Heartbeat
//
// The server pings PingInterval after the handshake and after each pong,
// and closes the session with "ping timeout" if no pong arrives within
// PingTimeout. One timer per session serves both steps. A client whose pong
// is late while bytes keep moving on its transport (a large message still
// arriving from it, or one it is still taking: see the transports'
// LastProgress) is not closed: the deadline follows the progress, and
// another ping keeps the client's own silence timer fed.
//
// # Behind proxies
//
// A long-polling GET is held until there is something to send, up to
// PingInterval. Options.MaxPollHold caps that for intermediaries with a
// shorter request timeout; without it, GETs cut again and again at one age
// are reported in the log.
//
// # Clusters without sticky sessions
//
// With Options.Relay, the engines of a cluster serve each other's
// sessions, and a load balancer may send any request to any of them. Each
// engine is a node with a 4-character id (RelayOptions.Bus.Node), which
// begins the id of every session it opens, so that any engine knows the
// session's owner without a lookup; the other 16 characters are random (96
// bits). A request for a session of another node is relayed over the Bus,
// one Engine.IO packet level message at a time (the owner keeps all the
// logic: heartbeat, probe, queue):
//
//	client ─▶ engine B (relay) ── Bus ──▶ engine A (owner) ─▶ Session
//	  GET:  B parks nothing; A's polling transport parks a GET for B, and B writes A's answer
//	  POST: B reads and checks the body; A's polling transport delivers it, and B writes "ok"
//	  WebSocket: A says whether the session may probe; B accepts it, and a bridge carries its
//	             packets to a transport of A's ("websocket") that A probes and upgrades to
//
// A relayed GET or POST follows the owner's rules for its own: one GET
// parked and one POST in flight at a time, whatever engine each reaches.
// A relayed WebSocket keeps its packets in order each way, with at most
// 256 unacknowledged each way (a slow reader holds its sender back as TCP
// would). The extra latency is what the Bus adds: over Redis on one
// machine, about 0.3 ms on a long-polling round trip and 0.1 ms on a
// WebSocket one at the median (see redisadapter's BenchmarkRelayLatency).
//
// Failures. Engines with requests in flight between them hear from each
// other at least every RelayOptions.Timeout/4. One not heard from for
// Timeout is deemed gone: the relaying engine answers the client as for an
// unknown session (400, code 1) or closes its WebSocket, and the client
// reconnects; the owner ends the session's transport as if the client had
// vanished (ReasonTransportError). Messages are numbered per pair of
// engines, so that one lost by the Bus (Redis pub/sub loses what it
// cannot deliver) ends what was in flight between the two in the same
// way, instead of losing or reordering packets. An engine that closes says
// so (requests for its sessions are then refused at once), answers the
// GETs it relays with a noop (their sessions carry on through the others)
// and lets the POSTs it relays finish; the WebSockets it relays close.
//
// # Errors
//
// Refused requests are answered with the Engine.IO error JSON
// {"code":N,"message":"..."}: 0 unknown transport, 1 unknown sid, 2 bad
// handshake method, 3 bad request, 4 forbidden (403), 5 unsupported protocol
// version. A closed session reports a *CloseError whose Reason is named as
// socket.io names it.
//
// # Observer
//
// Options.Observer hears of sessions opened and closed, upgrade steps,
// refused requests (by Refusal) and the packets each transport reads and
// writes, for metrics, on the goroutines where they happen.
//
// # Lifecycle
//
// Engine.Close closes every session at once; Engine.Shutdown lets each
// flush first, but waits for no long-polling client that has stopped
// polling. After either, handshakes are refused. No goroutine outlives its
// session.
package session
