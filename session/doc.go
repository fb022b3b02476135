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
//	                             └─ sid + websocket: ─▶ upgrade: probe, then switch transports
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
// # Errors
//
// Refused requests are answered with the Engine.IO error JSON
// {"code":N,"message":"..."}: 0 unknown transport, 1 unknown sid, 2 bad
// handshake method, 3 bad request, 4 forbidden (403), 5 unsupported protocol
// version. A closed session reports a *CloseError whose Reason is named as
// socket.io names it.
//
// # Lifecycle
//
// Engine.Close closes every session at once; Engine.Shutdown lets each
// flush first, but waits for no long-polling client that has stopped
// polling. After either, handshakes are refused. No goroutine outlives its
// session.
package session
