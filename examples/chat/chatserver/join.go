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

// membership is what a socket keeps with SetData once it joined a room:
// connection state recovery gives it back to a socket that recovers.
type membership struct {
	Nick string
	Room string
}

// onConnection sets up a new socket: typed handlers for the chat's events,
// and the room list for the nickname prompt. A socket that recovered its
// previous connection (same id, still in its room, the messages it missed
// already sent) becomes a member of its room again at once.
func (s *Server) onConnection(sock *ferry.Socket) {
	ferry.HandleAck(sock, "join", s.join)
	ferry.HandleAck(sock, "message", s.message)
	ferry.Handle(sock, "typing", s.typing)
	// OnDisconnecting runs while the socket is still in its rooms, so the
	// others can be told who left.
	sock.OnDisconnecting(s.disconnecting)

	s.mu.Lock()
	defer s.mu.Unlock()
	if ms, ok := sock.Data().(membership); ok && sock.Recovered() && sock.Connected() && s.members[sock.ID()] == nil {
		s.log.Info("recovered", "socket", sock.ID(), "nick", ms.Nick, "room", ms.Room, "transport", sock.Transport())
		s.enterLocked(sock, ms.Nick, ms.Room)
	}
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
		s.leaveLocked(sock, m, false)
		s.enterLocked(sock, nick, name)
	case m.nick != nick:
		s.log.Info("renamed", "socket", sock.ID(), "from", m.nick, "to", nick, "room", name)
		m.nick = nick
		sock.SetData(membership{Nick: nick, Room: name})
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
	sock.SetData(membership{Nick: nick, Room: name})
	s.log.Info("joined", "socket", m.id, "nick", nick, "room", name, "transport", sock.Transport())
	s.announceLocked(r, &person{ID: m.id, Nick: nick}, nil)
}

// leaveLocked removes the member from its room and announces it. A room
// other than the fixed ones disappears, history and all, when its last
// member leaves. With keepRoom (a socket disconnecting), the socket stays
// in the Ferry room until Ferry takes it out: connection state recovery
// keeps the rooms the socket is in at that moment, and so the messages
// sent there while it is away.
func (s *Server) leaveLocked(sock *ferry.Socket, m *member, keepRoom bool) {
	r := s.rooms[m.room]
	delete(r.members, m.id)
	delete(s.members, m.id)
	if !keepRoom {
		sock.Leave(m.room)
	}
	if len(r.members) == 0 && !r.fixed {
		delete(s.rooms, r.name)
	}
	s.log.Info("left", "socket", m.id, "nick", m.nick, "room", m.room)
	s.announceLocked(r, nil, &person{ID: m.id, Nick: m.nick})
}

// disconnecting removes a disconnecting socket from its room's members.
// If it comes back within the recovery window, onConnection makes it a
// member again.
func (s *Server) disconnecting(sock *ferry.Socket, reason ferry.DisconnectReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[sock.ID()]
	if m == nil {
		return
	}
	s.log.Info("disconnecting", "socket", m.id, "nick", m.nick, "rooms", sock.Rooms(), "reason", reason)
	s.leaveLocked(sock, m, true)
}
