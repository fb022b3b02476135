package client

import (
	"maps"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Connection state recovery (socket.io 4.6+), the client's part, as
// socket.io-client 4.8 does it: a server with recovery on answers CONNECT
// with a private id ("pid") beside the socket id, and appends an offset as
// the last argument of each event it may replay. The socket remembers the
// pid and the trailing string of the newest event, and sends both back,
// merged under its auth, on every later CONNECT: a server that still holds
// the socket's state then restores it (same id, rooms, data), sends the
// events missed meanwhile before its reply, and answers with the same pid.

// Recovered reports whether the last connection of the socket restored its
// previous one (socket.io-client's socket.recovered): the server has
// connection state recovery on and answered the CONNECT with the private id
// the socket sent, so the socket has its previous id, rooms and server-side
// data, and the events it missed while disconnected were delivered to its
// handlers, in order, before OnConnect ran. It is false after a first
// connection, and after a reconnection that got a fresh session (the
// server's window had passed, too many events were missed, or the socket
// had disconnected for a reason that allows no recovery, such as either
// side calling Disconnect). The value stays until the next connection.
//
// With recovery on, the events the server may replay carry their offset as
// an extra last argument, a string: Event.Args holds it, as the arguments
// in socket.io-client's handlers do. Decode with as many targets as the
// event's own arguments ignores it. The client does not strip it, since it
// cannot tell an offset from an application's trailing string: events
// without one (volatile events, events asking for an acknowledgement) may
// end in a string of the application's.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// setPIDLocked records the private id of a CONNECT reply (empty when the
// server has recovery off). A pid other than the one sent means a fresh
// session: the offset of the old one means nothing to it and is forgotten.
// socket.io-client keeps it, and could then send a fresh session an offset
// older than the session itself.
func (s *Socket) setPIDLocked(pid string) {
	s.recovered = pid != "" && pid == s.pid
	if pid != s.pid {
		s.lastOffset, s.hasOffset = "", false
	}
	s.pid = pid
}

// connectPacketsLocked returns the CONNECT to send: the auth alone, or,
// once the server gave a private id, {pid, offset} with the auth's keys
// merged over them (so an auth key named "pid" or "offset" wins, as in
// socket.io-client). The offset is left out when no event of the session
// ended in a string.
func (s *Socket) connectPacketsLocked() []transport.Packet {
	if s.pid == "" {
		return s.connectPkts
	}
	payload := map[string]any{"pid": s.pid}
	if s.hasOffset {
		payload["offset"] = s.lastOffset
	}
	maps.Copy(payload, s.authObject)
	pkts, err := s.encodeLocked(&parser.Packet{Type: parser.Connect, Namespace: s.namespace, Payload: payload})
	if err != nil {
		// The auth's values came out of the codec's own decoder, so this
		// does not happen; the plain CONNECT still joins the namespace.
		s.c.log.Warn("client: encoding the recovery fields failed; connecting without them", "namespace", s.namespace, "err", err)
		return s.connectPkts
	}
	return pkts
}

// decodeAuthLocked returns the auth payload of the encoded CONNECT conn as
// an object, decoded with the client's codec, to merge the recovery fields
// with; nil when there is no auth.
func (s *Socket) decodeAuthLocked(conn []transport.Packet) (map[string]any, error) {
	if s.auth == nil {
		return nil, nil
	}
	dec := s.c.codec.NewDecoder()
	var msg *parser.Message
	for _, p := range conn {
		m, err := dec.Decode(p.Data, p.Binary)
		if err != nil {
			return nil, err
		}
		msg = m
	}
	var obj map[string]any
	if msg != nil && msg.Payload != nil {
		if err := msg.Payload.Decode(&obj); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// trailingString returns the last argument when it is a string, which is
// what socket.io-client takes for an offset.
func trailingString(args parser.Args) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	var v any
	if args[len(args)-1].Decode(&v) != nil {
		return "", false
	}
	str, ok := v.(string)
	return str, ok
}
