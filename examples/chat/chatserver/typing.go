package chatserver

import "github.com/ferryio/ferry"

// typing tells a room that a member started or stopped typing.
type typing struct {
	ID     string `json:"id"` // the typist's socket id
	Nick   string `json:"nick"`
	Typing bool   `json:"typing"`
}

// typing handles "typing": the state goes to the rest of the room as a
// volatile broadcast. A client that is not ready to receive it (mid
// reconnection, say) misses it, and nothing is lost: the page repeats
// "typing" while its user types and forgets a typist it has not heard
// from for a few seconds.
func (s *Server) typing(sock *ferry.Socket, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[sock.ID()]
	if m == nil {
		return errNotJoined
	}
	return sock.To(m.room).Volatile().Emit("typing", typing{ID: m.id, Nick: m.nick, Typing: on})
}
