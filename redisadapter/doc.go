// Package redisadapter lets several Ferry servers, and Node socket.io
// servers, share rooms and broadcasts through Redis: it is a ferry.Adapter
// wire-compatible with @socket.io/redis-adapter 8.3 (New, NewSharded) and
// with @socket.io/redis-streams-adapter 0.3 (NewStreams, which also gives
// connection state recovery across servers), and an Emitter compatible
// with @socket.io/redis-emitter 5.1. It is a module of its own, so that a
// single-server application pulls in no Redis code.
//
// # Use
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	adapters := redisadapter.New(rdb, nil) // or NewSharded (Redis 7), NewStreams
//	srv := ferry.NewServer(&ferry.Options{Adapter: adapters.Adapter})
//
// Every server of the cluster, Ferry or Node, uses the same protocol (New
// with Node's createAdapter, NewSharded with createShardedAdapter,
// NewStreams with the Streams adapter's createAdapter) and the same key. Each server may use either Socket.IO parser with its own
// clients: servers exchange decoded packets, never client frames.
//
// # Data flow
//
//	  server A                          Redis                          server B
//	Broadcast.Emit ──▶ adapter ─┬─▶ A's sockets (at once)
//	                            └─▶ ordered publisher ──▶ PUBLISH ──▶ subscription ─▶ adapter ─▶ B's sockets
//	FetchSockets ────▶ adapter ──▶ request ───────────────▶ channel ──▶ B answers ──┐
//	           ◀──── A's sockets + answers until RequestsTimeout ◀── response channel ◀┘
//
// A Factory keeps, per ferry.Server, one subscription connection shared by
// all the server's namespaces, a goroutine that hands what it receives to
// the namespaces' adapters one message at a time (so OnServerSideEmit
// handlers run there, and must not wait on another cluster request), and
// one ordered publisher. Both goroutines end when the server's last
// adapter closes (Server.Close).
//
// # Channels and messages
//
// The classic protocol (New) publishes a broadcast as the msgpack array
// [uid, packet, opts] on "{key}#{nsp}#", or on "{key}#{nsp}#{room}#" when
// it targets exactly one room; a server drops, unread, a message for a room
// it has no socket in. Requests (joins, leaves, disconnects, fetches,
// server-side events, acknowledged broadcasts) go on "{key}-request#{nsp}#"
// and answers on "{key}-response#{nsp}#" (or the requester's own
// "{key}-response#{nsp}#{uid}#" with PublishOnSpecificResponseChannel).
// The sharded protocol (NewSharded) sends every message as
// {type, data, uid, nsp} on "{prefix}#{nsp}#", answers on the requester's
// "{prefix}#{nsp}#{uid}#", and, in the Dynamic modes, broadcasts to one
// room on that room's channel, which only servers that have the room
// subscribe to (a server subscribes when the room appears on it, so a
// broadcast sent in the instant a remote socket joins may miss it, as with
// Node). Messages are JSON or msgpack exactly as Node writes them: the
// tests compare them byte for byte. Dates travel as msgpack timestamps
// (notepack.io 3); the older notepack.io 2 Dates are read too.
//
// The number of servers is the number of subscribers of the request
// channel (classic) or the main channel (sharded), as Node counts them: a
// foreign subscriber to those channels would make requests wait for an
// answer that never comes, until their timeout.
//
// # Redis Streams
//
// NewStreams writes broadcasts (without ack), joins, leaves and
// disconnects as entries of a stream (XADD, trimmed to about MaxLen),
// which every server reads in order (XREAD) on a connection of its own per
// stream; acknowledged broadcasts, fetches, server-side events and every
// answer go through pub/sub ("{prefix}#{nsp}#", and the requester's
// "{prefix}#{nsp}#{uid}#"), and the servers are counted as the subscribers
// of the first. With StreamCount above 1 each namespace has its stream,
// "{StreamName}-{i}" with i computed as Node computes it: some namespaces
// get a negative i (such as "/notifications", on "socket.io--3" of four),
// whose stream Node's servers write but never read, so that Node servers
// do not exchange those namespaces' broadcasts. Ferry's servers read the
// streams of their namespaces, negative or not.
//
// With ferry.Options.ConnectionStateRecovery, an event's offset is its
// entry's id, the same on every server, and a disconnected socket's session
// is kept as Node keeps it (SET {SessionKeyPrefix}{pid}, base64 msgpack, PX
// the recovery window), so that a client recovers on any server, Ferry or
// Node, whichever it left: restoring takes the session once (GET and DEL),
// checks that the offset's entry is still in the stream, and replays the
// broadcasts after it that select the session's rooms. Ferry goes beyond
// Node where the wire allows:
//
//   - a server delivers its own broadcasts when its reader reaches their
//     entry, as it does the other servers', so that every socket gets the
//     stream's events in the stream's order, and a client's offset says
//     exactly what it got: a recovery replays every missed event once, in
//     order, and no event twice;
//   - a restore admits the socket when the reader has delivered exactly the
//     entries replayed, so that each later one arrives live, once;
//   - a client that got no event (and so sends no offset) recovers from the
//     offset it connected at, and one whose last event ended in a string
//     that is no offset recovers from the offset before it; Ferry keeps
//     both in the session, in a field Node ignores;
//   - a restore waits RestoreWait for a session not kept yet, for a client
//     that came back before its old server noticed it left;
//   - volatile broadcasts, and events with an ack id, are not replayed, as
//     they were delivered without an offset;
//   - the clients of a server that dies (killed, or cut off from Redis)
//     recover on the others, though it kept no session: see below.
//
// # When a server dies
//
// A server that dies keeps no session. So that its clients recover too, a
// Ferry server with recovery keeps in Redis, under keys of its own
// (LiveKeyPrefix, default "ferry:live:", never the session keys, which a
// Node server would restore while the socket's server lives), a live record
// of each socket while it is connected: its id, private id, connect offset
// and data as when it connected (data it stores later is not kept), and its
// rooms, which the adapter rewrites after each change of them (writes
// queued in order with the others, changes made while one is queued
// coalesced into it; local delivery never waits for them). Each server also
// refreshes a heartbeat in Redis every third of HeartbeatTimeout (default
// 10s). A restore that finds no session looks for the socket's live
// record: once its server's heartbeat is older than HeartbeatTimeout, it
// takes the record (HGET and DEL in one transaction: one server restores
// it) and restores the socket from it as from a session, replaying what it
// missed from the stream. Until then it waits, within RestoreWait: set
// RestoreWait above HeartbeatTimeout for a dead server's clients to recover
// (10s and more, as in the README). The first server that finds another
// dead removes its heartbeat and has its live records expire after
// MaxDisconnectionDuration, so that none outlives the window unrestored; a
// server found dead wrongly (cut off from Redis longer than
// HeartbeatTimeout) keeps its records for good again at its next
// heartbeat. Node servers neither keep nor restore live records: a dead
// Node server's clients get fresh sessions, and a dead Ferry server's
// clients recover on a Ferry server only. A live record keeps no alias
// (see above): a client whose last event ended in a string that is no
// offset gets a fresh session if its server dies. A live record whose
// write failed (Redis down) is written again at its socket's next change of
// rooms.
//
// Each recovery costs what it costs Node: every Socket.Emit and broadcast
// is an XADD that the sender waits for, and then for its own reader to read
// it back (about two round trips to Redis).
//
// # Guarantees
//
// Delivery to this server's sockets never waits on Redis: a broadcast is
// delivered locally first, then queued for the publisher, which sends the
// queue in order. (With NewStreams and recovery, a broadcast is delivered
// when read back from the stream, as above; when Redis is down, or does
// not answer within RequestsTimeout, it is delivered at once, with the
// offset of the newest entry read.) When Redis is down, local rooms keep working; publishes
// fail, each counted in Stats and logged (at most one line a second);
// requests to other servers return this server's part and an error within
// RequestsTimeout (or the context's deadline, if sooner); go-redis
// reconnects and resubscribes by itself, and cross-server delivery resumes
// when Redis is back (in about 100 ms in the tests). A server that stops
// answering leaves the others' requests to end at their timeout; one whose
// process dies drops out of the count at once.
//
// An acknowledged broadcast (EmitWithAck) asks each other server for its
// count of clients reached and their acks. When the context has no
// deadline, the servers not heard from after RequestsTimeout count as
// reaching nobody, and acks still missing as lost, so that the call
// returns. ServerSideEmitWithAck returns the answers that came and, if
// some servers did not answer in time, an error saying how many did.
//
// Rooms, on the sharded protocol (which has no request for it), is built
// from the rooms of every server's sockets, fetched.
//
// # No sticky sessions: Relay
//
// NewRelay gives a server the session.Bus of ferry.Options.Relay, so that
// the servers of a cluster serve each other's connections and a load
// balancer may spread every request (plain round-robin, no ip_hash):
//
//	srv := ferry.NewServer(&ferry.Options{
//		Adapter: redisadapter.New(rdb, nil).Adapter,
//		Relay:   &ferry.RelayOptions{Bus: redisadapter.NewRelay(rdb, nil)},
//	})
//
// Each server has a node id (RelayOptions.Node, random by default) that
// begins its connections' ids, and subscribes to "{Key}-relay#{node}#"
// on a connection of its own; what it sends to another server is
// published on that server's channel, in order, batched in pipelines by
// one goroutine. A long-polling request or a WebSocket that reaches a
// server which does not hold its connection is relayed to the one that
// does (see package session). Measured on one machine with Redis on
// loopback, relaying adds about 0.25 to 0.35 ms to the median round trip
// of an acknowledged emit over long-polling (0.15 ms direct), and 0.1 to
// 0.2 ms over a WebSocket (0.04 ms direct), 0.15 to 0.4 ms at the 99th
// percentile; TestRelayLatency bounds it, BenchmarkRelayLatency measures it.
//
// When a server dies, the others notice within RelayOptions.Timeout
// (default 5s): a request relayed to it is answered 400 "Session ID
// unknown", a WebSocket relayed to it closes, and its clients reconnect to
// the others. The connections it relayed for the others fail too: the
// WebSockets it carried, and the long-polling GETs parked on it; their
// clients reconnect. A server that shuts down instead (Server.Shutdown or
// Close) answers the GETs it relays with a noop, so those connections carry
// on. When Redis is down, nothing is relayed: a long-polling client whose
// requests a balancer spreads fails within the timeout and reconnects, as
// does an upgraded one whose WebSocket reached another server than its
// own, while WebSocket-only clients keep working (a WebSocket handshake
// opens its connection on the server it reaches). Messages lost while a
// subscription is down end what they concerned; nothing is delivered out
// of order or twice.
//
// # Limits
//
// Connection state recovery across servers needs NewStreams: New and
// NewSharded keep what it needs in each server's memory, so that a client
// recovers only on the server it was connected to (Node's Redis adapters
// do not recover at all).
// NewStreams with recovery: a client that missed more than MaxLen entries
// (or MaxMissedPackets events) does not recover, nor does the client of a
// dead server before HeartbeatTimeout, nor after RestoreWait, has passed
// (see When a server dies); a broadcast delivered at
// once while Redis was unreachable is not replayed, and one whose XADD
// Redis applied after it timed out may be replayed to a client that got it
// already. A Relay needs a single Redis node (or a primary and its
// replicas): the order of its messages is kept only there. NewSharded
// keeps one subscription connection, so it needs a
// single Redis node: on a Redis Cluster, sharded channels of different
// hash slots live on different nodes. New works with a
// redis.ClusterClient, counting servers over every node.
package redisadapter
