package chatserver

import (
	"errors"

	"github.com/ferryio/ferry"
)

// joinRequest is the "join" event's argument: enter room under nick,
// leaving the current room if it is another one. Joining the current room
// again with another nickname renames the member.
type joinRequest struct {
	Nick string `json:"nick"`
	Room string `json:"room"`
}

// joinReply acknowledges "join": the cleaned names, the room's members and
// recent messages, and the room list.
type joinReply struct {
	ID      string     `json:"id"` // the socket's id, as members and messages name it
	Nick    string     `json:"nick"`
	Room    string     `json:"room"`
	Members []person   `json:"members"`
	History []message  `json:"history"`
	Rooms   []roomInfo `json:"rooms"`
}

// onConnection sets up a new socket: typed handlers for the chat's events,
// and the room list for the nickname prompt.
func (s *Server) onConnection(sock *ferry.Socket) {
	ferry.HandleAck(sock, "join", s.join)
	ferry.HandleAck(sock, "message", s.message)
	ferry.Handle(sock, "typing", s.typing)
	// OnDisconnecting runs while the socket is still in its rooms, so the
	// others can be told who left.
	sock.OnDisconnecting(s.disconnecting)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := sock.Emit("rooms", s.roomListLocked()); err != nil && !errors.Is(err, ferry.ErrDisconnected) {
		s.log.Warn("sending the room list", "socket", sock.ID(), "err", err)
	}
}

// join handles "join".
func (s *Server) join(sock *ferry.Socket, req joinRequest) (joinReply, error) {
	nick, err := cleanNick(req.Nick)
	if err != nil {
		return joinReply{}, err
	}
	name, err := cleanRoom(req.Room)
	if err != nil {
		return joinReply{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// A socket that is disconnecting has run, or is waiting to run,
	// disconnecting: adding it now would leave a ghost member.
	if !sock.Connected() {
		return joinReply{}, ferry.ErrDisconnected
	}
	m := s.members[sock.ID()]
	switch {
	case m == nil:
		s.enterLocked(sock, nick, name)
	case m.room != name:
		s.leaveLocked(sock, m)
		s.enterLocked(sock, nick, name)
	case m.nick != nick:
		s.log.Info("renamed", "socket", sock.ID(), "from", m.nick, "to", nick, "room", name)
		m.nick = nick
		s.announceLocked(s.rooms[name], nil, nil)
	}
	r := s.rooms[name]
	return joinReply{
		ID:      sock.ID(),
		Nick:    nick,
		Room:    name,
		Members: r.people(),
		History: append([]message{}, r.history...), // a copy, and [] rather than null when empty
		Rooms:   s.roomListLocked(),
	}, nil
}

// enterLocked adds the socket to room name, creating the room if needed,
// and announces it.
func (s *Server) enterLocked(sock *ferry.Socket, nick, name string) {
	r := s.rooms[name]
	if r == nil {
		r = newRoom(name, false)
		s.rooms[name] = r
	}
	m := &member{id: sock.ID(), nick: nick, room: name}
	s.members[m.id] = m
	r.members[m.id] = m
	sock.Join(name)
	s.log.Info("joined", "socket", m.id, "nick", nick, "room", name, "transport", sock.Transport())
	s.announceLocked(r, &person{ID: m.id, Nick: nick}, nil)
}

// leaveLocked removes the member from its room and announces it. A room
// other than the fixed ones disappears, history and all, when its last
// member leaves.
func (s *Server) leaveLocked(sock *ferry.Socket, m *member) {
	r := s.rooms[m.room]
	delete(r.members, m.id)
	delete(s.members, m.id)
	sock.Leave(m.room)
	if len(r.members) == 0 && !r.fixed {
		delete(s.rooms, r.name)
	}
	s.log.Info("left", "socket", m.id, "nick", m.nick, "room", m.room)
	s.announceLocked(r, nil, &person{ID: m.id, Nick: m.nick})
}

// disconnecting removes a disconnecting socket from its room.
func (s *Server) disconnecting(sock *ferry.Socket, reason ferry.DisconnectReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[sock.ID()]
	if m == nil {
		return
	}
	s.log.Info("disconnecting", "socket", m.id, "nick", m.nick, "rooms", sock.Rooms(), "reason", reason)
	s.leaveLocked(sock, m)
}
