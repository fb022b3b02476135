// Package adminui makes a Ferry server visible to socket.io's Admin UI
// (the npm package @socket.io/admin-ui, version 0.5): the hosted UI, or the
// package's ui/dist served anywhere, connects to the server and shows its
// servers, clients, sockets, rooms and events, and disconnects sockets or
// makes them join and leave rooms.
//
// It is the server side of that package (its instrument function), over
// Ferry's public API: Instrument adds the admin namespace, with its
// authentication, to a ferry.Server, and watches every namespace through
// ferry.Server.OnNamespace, ferry.Namespace.OnConnection,
// ferry.Namespace.OnJoinRoom and OnLeaveRoom, and each socket's OnAny,
// OnAnyOutgoing and OnDisconnect. A server that is not instrumented pays
// nothing; in Production mode only connections are counted.
//
// The UI speaks to the admin namespace as socket.io's server-side package
// does: it connects with auth {username, password} or {sessionId}, and is
// sent "session" (its session id), "config" (the features it may use),
// "server_stats" every two seconds, and, in Development mode,
// "all_sockets", then "socket_connected", "socket_updated",
// "socket_disconnected", "room_joined", "room_left", "event_received" and
// "event_sent" as they happen. It sends "join", "leave", "_disconnect" and
// "emit". Times are sent as Dates, which the JSON parser writes as ISO 8601
// strings, as socket.io does.
//
// Differences from the npm package: sessions in the default MemoryStore
// expire after a day; a UI action for a namespace that does not exist is
// dropped instead of creating it; the stats' uptime is the time since
// Instrument; a socket's data is shown as it is when the socket connects
// and when the UI asks for every socket, not at each change (Ferry's
// Socket.SetData is not observed); without a Meter, connections are
// counted from their first socket's connection, so those that join no
// namespace are not, and packets and bytes are not counted; a Meter counts
// packets including pings and pongs.
//
// The UI uses the same parser as the server: choose "msgpack" in its
// advanced options for a server with Ferry's default parser, "default" for
// one created with parser.JSON().
package adminui
